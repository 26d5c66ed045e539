"""The progress figure labels a Monte Carlo hypervolume and shows the exact-front indicators."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paretosweep.dashboard import _curves as C
from paretosweep.dashboard import _info as I


def progress_frame(**columns: list[object]) -> pd.DataFrame:
    base = {"trials_done": [1, 2, 3], "compute_seconds": [1.0, 2.0, 3.0], "hypervolume": [0.1, 0.2, 0.3], "frontier_size": [1, 2, 2]}
    return pd.DataFrame({**base, **columns})


def test_an_estimated_hypervolume_is_drawn_as_estimate_plus_minus_stderr() -> None:
    info = I.progress_info(progress_frame(hypervolume_method=["exact", "monte_carlo", "monte_carlo"], hypervolume_stderr=[0.0, 0.01, 0.02]))
    np.testing.assert_array_equal(info.hypervolume_stderr, [np.nan, 0.01, 0.02])
    fig = C.progress_figure(info)
    assert len(fig.data) == 2  # trials done, compute: no indicator row without an exact front
    for trace in fig.data:
        assert list(trace.error_y.array) == [0.0, 0.01, 0.02] and trace.error_y.visible
        assert [row[1] for row in trace.customdata] == ["", " ± 0.01 (Monte Carlo estimate)", " ± 0.02 (Monte Carlo estimate)"]
    assert fig.layout.yaxis.title.text == "hypervolume (estimate ± stderr)"


def test_exact_hypervolume_has_no_error_bars_and_no_estimate_label() -> None:
    fig = C.progress_figure(I.progress_info(progress_frame(hypervolume_method=["exact"] * 3, hypervolume_stderr=[0.0] * 3)))
    assert all(trace.error_y.array is None for trace in fig.data)
    assert fig.layout.yaxis.title.text == "hypervolume"
    assert all(row[1] == "" for row in fig.data[0].customdata)


def test_hv_ratio_and_igd_plus_get_a_second_row_when_present() -> None:
    frame = progress_frame(
        hypervolume_method=["exact"] * 3, hypervolume_stderr=[0.0] * 3, hv_ratio=[0.5, 0.8, 0.95], igd_plus=[0.2, 0.1, None]
    )
    fig = C.progress_figure(I.progress_info(frame))
    by_name = {}
    for trace in fig.data:
        by_name.setdefault(trace.name, []).append(trace)
    assert [list(t.y) for t in by_name["hv_ratio"]] == [[0.5, 0.8, 0.95]] * 2
    assert np.isnan(by_name["IGD+"][0].y[2]) and list(by_name["IGD+"][0].y[:2]) == [0.2, 0.1]
    assert {t.yaxis for t in by_name["hv_ratio"]} == {"y3", "y4"}  # the second row
    assert fig.layout.yaxis3.title.text == "vs exact front"
    assert fig.layout.xaxis3.title.text == "trials done"


def test_files_without_the_new_columns_still_draw() -> None:
    info = I.progress_info(progress_frame())
    assert info.hypervolume_stderr is None and info.hv_ratio is None and info.igd_plus is None
    fig = C.progress_figure(info)
    assert len(fig.data) == 2 and fig.layout.yaxis.title.text == "hypervolume"
