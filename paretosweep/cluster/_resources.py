"""Does one trial fit on some node of the connected Ray cluster? Checked before any trial starts.

Ray Tune would otherwise leave a trial that fits nowhere pending forever (with a warning in the
log), so a spec asking for ``resources.gpu: 1`` on a CPU-only cluster would hang. For a local
Ray (no ``ray.address``) the machine is known before Ray starts: :func:`check_local_trial_fits`.
"""

from __future__ import annotations

import os
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


def check_local_trial_fits(spec: SweepSpec, *, gpus: int | None = None, cpus: int | None = None) -> None:
    """Before a local Ray starts: raise ConfigError unless this machine can hold one trial.

    Only for a spec without ``ray.address`` (a remote cluster is checked by :func:`check_trial_fits`
    once connected). The local Ray gets ``ray.num_cpus`` CPUs (else every core) and the GPUs torch sees.

    Args:
        spec: the sweep spec.
        gpus: GPUs of this machine (default ``torch.cuda.device_count()``, read only when
            ``resources.gpu > 0``).
        cpus: CPUs of this machine (default ``ray.num_cpus``, else ``os.cpu_count()``).

    Raises:
        ConfigError: naming ``resources.gpu`` (or ``resources.cpu``), what this machine has, and the fix.
    """
    if spec.ray.address:
        return
    need_cpu, need_gpu = spec.resources.cpu, spec.resources.gpu
    if need_gpu > 0:
        if gpus is None:
            import torch

            gpus = torch.cuda.device_count()
        if need_gpu > gpus:
            fix = (
                "Set `resources.gpu: 0` to train on CPUs" if gpus == 0 else f"Set `resources.gpu` to at most {gpus} (fractions share a GPU)"
            )
            raise ConfigError(
                f"`resources.gpu` asks for {need_gpu:g} GPU(s) per trial, but this machine has {gpus} "
                f"(torch.cuda.device_count()) and no `ray.address` is set, so the local Ray would have {gpus}. "
                f"{fix}, or set `ray.address` (or --address) to a Ray cluster with GPU nodes."
            )
    if cpus is None:
        cpus = spec.ray.num_cpus or os.cpu_count() or 1
    if need_cpu > cpus:
        where = "`ray.num_cpus`" if spec.ray.num_cpus else "this machine"
        raise ConfigError(
            f"`resources.cpu` asks for {need_cpu:g} CPU(s) per trial, but the local Ray would have {cpus} ({where}). "
            f"Set `resources.cpu` to at most {cpus}, or set `ray.address` (or --address) to a larger Ray cluster."
        )
