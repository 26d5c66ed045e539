"""Test helper: drive an adaptive sampler to the end against an analytic oracle."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from paretosweep.sampling import AdaptiveSampler


def run(sampler: AdaptiveSampler, oracle: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Ask rounds until the sampler is done, telling each weight vector ``oracle(w)``; all ``(w, f)``."""
    ws, fs = [], []
    while len(batch := sampler.next_round()):
        for w in batch:
            f = oracle(w)
            sampler.tell(w, f)
            ws.append(w)
            fs.append(f)
    return np.asarray(ws), np.asarray(fs)
