"""The secrets of a submitted job: a file in its working directory, loaded into the environment.

``paretosweep submit`` writes :data:`SECRETS_FILE` (the storage credentials it took out of the
storage URI) into the job's working directory; the job's entrypoint and each of its Ray
workers (through ``runtime_env["worker_process_setup_hook"]``) call :func:`load_job_secrets`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

#: The file in the job's working directory that holds its secrets (environment variables, JSON).
SECRETS_FILE = "paretosweep-job-secrets.json"
#: ``runtime_env["worker_process_setup_hook"]`` of a job with secrets.
SETUP_HOOK = "paretosweep.cluster._job_secrets.load_job_secrets"


def load_job_secrets() -> None:
    """Put the variables of :data:`SECRETS_FILE` (if there is one) into ``os.environ``.

    Looks in the current directory, then on ``sys.path`` (Ray puts the job's working directory
    first on every worker's path). The variables override the node's own: the submitter chose them.
    """
    for folder in (Path.cwd(), *(Path(p) for p in sys.path if p)):
        path = folder / SECRETS_FILE
        if path.is_file():
            secrets = json.loads(path.read_text())
            os.environ.update({str(k): str(v) for k, v in secrets.items()})
            return
