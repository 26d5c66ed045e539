"""The trial panel's checkpoint: its location and a loading snippet, or why it was not kept."""

from __future__ import annotations

import ast

from dash import dcc

from paretosweep.dashboard._layout import checkpoint_section
from paretosweep.dashboard._trial import trial_info
from tests.unit.dashboard._frames import FRONTIER_IDS, TASKS, trials

KEPT = {"trial_id": "t2", "seed": 0, "location": "/runs/r/_tune/e/t2/checkpoint_000001/checkpoint.pt", "reason": None}
GONE = {"trial_id": "t2", "seed": 0, "location": None, "reason": "Trial `t2` kept no checkpoint. Set `checkpoints: {keep: all}`."}


def _info(entry: dict[str, object] | None, source: str | None = '/runs/my "odd" run') -> object:
    return trial_info(
        trials(), "t2", frontier_ids=FRONTIER_IDS, tasks=TASKS, metric_columns=["a_loss"], checkpoint=entry, run_source=source
    )


def _walk(component: object) -> list[object]:
    """A Dash component and every component below it."""
    children = getattr(component, "children", None)
    below = children if isinstance(children, list) else [children]
    return [component, *(d for c in below if c is not None and not isinstance(c, str) for d in _walk(c))]


def _texts(component: object) -> list[str]:
    """Every string in a Dash component tree, depth first."""
    if isinstance(component, str):
        return [component]
    children = getattr(component, "children", None)
    if children is None:
        return []
    return [t for c in (children if isinstance(children, list) else [children]) for t in _texts(c)]


def test_a_kept_checkpoint_gives_its_location_and_a_snippet_that_parses_to_the_run_and_trial() -> None:
    info = _info(KEPT)
    assert info.checkpoint == KEPT["location"] and info.checkpoint_reason is None
    call = ast.parse(info.load_snippet).body[0].value
    assert ast.unparse(call.func) == "paretosweep.load_checkpoint"
    assert [a.value for a in call.args] == ['/runs/my "odd" run', "t2"]  # quotes in the path stay valid Python
    section = checkpoint_section(info, 0)
    assert KEPT["location"] in _texts(section) and info.load_snippet in _texts(section)
    [clipboard] = [c for c in _walk(section) if isinstance(c, dcc.Clipboard)]
    assert clipboard.content == info.load_snippet  # the copy button copies exactly the snippet


def test_a_deleted_checkpoint_says_it_was_not_kept_and_why() -> None:
    info = _info(GONE)
    assert info.checkpoint is None and info.load_snippet is None and "keep: all" in info.checkpoint_reason
    text = " ".join(_texts(checkpoint_section(info, 0)))
    assert text.startswith("checkpoint Not kept:") and "checkpoints: {keep: all}" in text


def test_without_a_lookup_the_panel_has_no_checkpoint() -> None:
    info = _info(None)
    assert (info.checkpoint, info.checkpoint_reason, info.load_snippet) == (None, None, None)
