"""Does one trial fit on some node of the connected Ray cluster? Checked before any trial starts.

Ray Tune would otherwise leave a trial that fits nowhere pending forever (with a warning in the
log), so a spec asking for ``resources.gpu: 1`` on a CPU-only cluster would hang.
"""

from __future__ import annotations

from typing import Any

from paretosweep.config import SweepSpec
from paretosweep.errors import ConfigError


def check_trial_fits(spec: SweepSpec, nodes: list[dict[str, Any]] | None = None) -> None:
    """Raise ConfigError unless some alive node has ``resources.cpu`` CPUs and ``resources.gpu`` GPUs.

    Args:
        spec: the sweep spec (its ``resources`` block is what one trial reserves).
        nodes: ``ray.nodes()`` (read from the connected Ray when not given).

    Raises:
        ConfigError: naming ``resources.gpu`` (or ``resources.cpu``), what the largest node has,
            and the fix.
    """
    if nodes is None:
        import ray

        nodes = ray.nodes()
    alive = [n.get("Resources", {}) for n in nodes if n.get("Alive", n.get("alive", False))]
    need_cpu, need_gpu = spec.resources.cpu, spec.resources.gpu
    if any(r.get("CPU", 0.0) >= need_cpu and r.get("GPU", 0.0) >= need_gpu for r in alive):
        return
    max_gpu = max((r.get("GPU", 0.0) for r in alive), default=0.0)
    max_cpu = max((r.get("CPU", 0.0) for r in alive), default=0.0)
    where = f"{len(alive)} alive node{'s' if len(alive) != 1 else ''}"
    if need_gpu > max_gpu:
        fix = (
            "Set `resources.gpu: 0` to train on CPUs, or add GPU nodes to the cluster."
            if max_gpu == 0
            else f"Set `resources.gpu` to at most {max_gpu:g} (fractions like 0.5 share a GPU between trials)."
        )
        raise ConfigError(
            f"`resources.gpu` asks for {need_gpu:g} GPU(s) per trial, but no node of the Ray cluster has that many "
            f"(the most on one node is {max_gpu:g}, across {where}). {fix}"
        )
    if need_cpu > max_cpu:
        raise ConfigError(
            f"`resources.cpu` asks for {need_cpu:g} CPU(s) per trial, but no node of the Ray cluster has that many "
            f"(the most on one node is {max_cpu:g}, across {where}). Set `resources.cpu` to at most {max_cpu:g}."
        )
    raise ConfigError(
        f"`resources` asks for {need_cpu:g} CPU(s) and {need_gpu:g} GPU(s) per trial together, but no single node of "
        f"the Ray cluster has both ({where}). Lower `resources.cpu` or `resources.gpu`."
    )
