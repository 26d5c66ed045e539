"""Ray for one sweep: connect or start, check that a trial fits, size the concurrency, stop.

A sweep attaches to a Ray that is already initialised in the process (a test's, a notebook's),
else connects to ``ray.address`` (after checking within seconds that something answers
there), else starts a local Ray. It shuts down only a Ray it started.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from paretosweep.config import SweepSpec

#: Ray's logger that prints "Token authentication is enabled for this Ray cluster..." on every new
#: local cluster (Ray 2.5x/2.6x). Raised to ERROR while paretosweep starts its own local Ray;
#: token authentication itself stays on (``RAY_AUTH_MODE=disabled`` turns it off, as in Ray).
RAY_TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"


@contextlib.contextmanager
def _quiet_token_banner() -> Iterator[None]:
    logger = logging.getLogger(RAY_TOKEN_LOGGER)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def start_ray(spec: SweepSpec, *, log_to_driver: bool = False) -> bool:
    """Connect to ``ray.address`` or start a local Ray; True if this call started it.

    ``log_to_driver``: stream the workers' stdout and stderr (the trials' prints) to this console.

    Raises:
        ClusterUnreachableError: nothing answers at ``ray.address``, or it refuses the connection.
    """
    import ray

    if ray.is_initialized():
        return False
    if spec.ray.address:
        from paretosweep.cluster import ClusterUnreachableError, check_driver_address

        check_driver_address(spec.ray.address)  # unreachable: a clear error within seconds, not a hang
        try:
            ray.init(address=spec.ray.address, log_to_driver=log_to_driver)
        except ConnectionError as error:
            raise ClusterUnreachableError(f"Cannot connect to the Ray cluster at `{spec.ray.address}`: {error}") from None
    else:
        with _quiet_token_banner():
            ray.init(num_cpus=spec.ray.num_cpus, include_dashboard=False, log_to_driver=log_to_driver, configure_logging=False)
    return True


def stop_ray(started: bool) -> None:
    """Shut down the Ray this sweep started (never one it attached to)."""
    if started:
        import ray

        ray.shutdown()


@contextlib.contextmanager
def ray_for(spec: SweepSpec, *, log_to_driver: bool = False) -> Iterator[bool]:
    """Ray for the sweep's duration (see the module docstring); yields whether it was started here.

    The trial must fit a node of the cluster (else it would stay pending forever).
    """
    from paretosweep.cluster import check_trial_fits

    started = start_ray(spec, log_to_driver=log_to_driver)
    try:
        check_trial_fits(spec)
        yield started
    finally:
        stop_ray(started)


def concurrency(spec: SweepSpec) -> int:
    """Trials at once: ``spec.concurrency``, else as many as the cluster's CPUs hold."""
    import ray

    if spec.concurrency:
        return spec.concurrency
    cpus = ray.cluster_resources().get("CPU", 1.0)
    return max(1, int(cpus // spec.resources.cpu))
