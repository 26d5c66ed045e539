"""Run sweeps on a Ray cluster: the Jobs API (submit, status, logs, stop), address checks, resource checks.

Nothing here imports Ray at module import; each function imports what it needs.
"""

from paretosweep.cluster._address import (
    ClusterError,
    ClusterUnreachableError,
    JobNotFoundError,
    check_driver_address,
    check_jobs_api,
    jobs_api_url,
)
from paretosweep.cluster._jobs import JobStatus, local_problem_modules, logs, status, stop, submit, validate_for_cluster
from paretosweep.cluster._resources import check_local_trial_fits, check_trial_fits

__all__ = [
    "ClusterError",
    "ClusterUnreachableError",
    "JobNotFoundError",
    "JobStatus",
    "check_driver_address",
    "check_jobs_api",
    "check_local_trial_fits",
    "check_trial_fits",
    "jobs_api_url",
    "local_problem_modules",
    "logs",
    "status",
    "stop",
    "submit",
    "validate_for_cluster",
]
