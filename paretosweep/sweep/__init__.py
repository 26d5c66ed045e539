"""Running a sweep on Ray Tune: the searcher that adapts any sampler, the trainable, the recorder
of results, Ray's start and stop, and the driver that wires them (``run_sweep``).

Ray is imported here and in ``paretosweep.cluster`` (the Jobs API), nowhere else.
"""

from paretosweep.sweep._driver import SweepSummary, run_sweep
from paretosweep.sweep._packing_searcher import PackingSearcher
from paretosweep.sweep._recorder import SweepStatus
from paretosweep.sweep._sampler_searcher import SamplerSearcher, WeightTrials

__all__ = ["PackingSearcher", "SamplerSearcher", "SweepStatus", "SweepSummary", "WeightTrials", "run_sweep"]
