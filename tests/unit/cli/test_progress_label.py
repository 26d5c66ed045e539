"""The progress bar's hypervolume label: exact, Monte Carlo estimate, ratio to the exact front."""

from paretosweep.cli_progress import hv_label
from paretosweep.sweep._recorder import SweepStatus


def test_no_hypervolume_yet() -> None:
    assert hv_label(SweepStatus(planned=4)) == "-"


def test_exact_value_is_plain() -> None:
    assert hv_label(SweepStatus(planned=4, hypervolume=0.51234, hypervolume_method="exact", hypervolume_stderr=0.0)) == "0.5123"


def test_estimate_is_labelled_with_its_error() -> None:
    status = SweepStatus(planned=4, hypervolume=12.5, hypervolume_method="monte_carlo", hypervolume_stderr=0.31)
    assert hv_label(status) == "≈12.5 ± 0.31 (estimate)"


def test_ratio_to_exact_front_is_shown() -> None:
    status = SweepStatus(planned=4, hypervolume=0.8, hypervolume_method="exact", hv_ratio=0.9123)
    assert hv_label(status) == "0.8 (91.2% of exact front)"


def test_method_labels_tell_apart_configurations_of_one_method() -> None:
    import pandas as pd

    from paretosweep.comparison import method_labels

    verdict = pd.DataFrame(
        {
            "method": ["mgda", "mgda", "pcgrad"],
            "hparams": ['{"normalization": "none", "upper_bound": false}', '{"normalization": "none", "upper_bound": true}', "{}"],
        }
    )
    assert method_labels(verdict) == ["mgda upper_bound=false", "mgda upper_bound=true", "pcgrad"]
