"""The only package that imports Ray: the Tune searcher, the trainable and the driver."""

from paretosweep.sweep._driver import SweepSummary, run_sweep

__all__ = ["SweepSummary", "run_sweep"]
