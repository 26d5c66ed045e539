"""The entrypoint of a submitted sweep: ``python -m paretosweep.cluster._job_entry run SPEC --address auto``.

It does two things ``paretosweep run`` alone cannot do on the cluster:

- it loads the job's secrets (the storage credentials ``paretosweep submit`` took out of the
  storage URI) from a file in the job's working directory into the environment,
  before the sweep starts; every Ray worker of the job does the same at start
  (:func:`~paretosweep.cluster._job_secrets.load_job_secrets` is the job's ``worker_process_setup_hook``), so trials reach the
  storage too. The secrets are thus never in the entrypoint, the job's metadata, its
  ``env_vars`` or its log;
- a storage failure (pyarrow's ``OSError``) ends the job with one clear line naming the
  storage (redacted) and the fix, not a traceback.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from pathlib import Path


def _storage_of(argv: Sequence[str]) -> str:
    """The run directory the ``run`` arguments name: ``--storage``, else the spec's ``storage``."""
    args = list(argv)
    if "--storage" in args[:-1]:
        return args[args.index("--storage") + 1]
    try:
        import yaml

        spec = yaml.safe_load(Path(args[1]).read_text()) if len(args) > 1 else {}
        return str((spec or {}).get("storage") or "the run directory")
    except Exception:
        return "the run directory"


def main(argv: Sequence[str] | None = None) -> int:
    """Load the secrets, run ``paretosweep`` with ``argv``; a storage ``OSError`` becomes one clear message."""
    import pyarrow as pa

    from paretosweep._redact import redact, storage_error
    from paretosweep.cluster._job_secrets import load_job_secrets

    args = list(sys.argv[1:] if argv is None else argv)
    load_job_secrets()
    from paretosweep.cli import app

    try:
        code = app(args=args, prog_name="paretosweep", standalone_mode=False)
    except (OSError, pa.ArrowException) as error:
        print(f"Error: {storage_error(_storage_of(args), error)}", file=sys.stderr)
        return 2
    except Exception:  # a bug: its traceback, with every URI in it redacted
        print(redact(traceback.format_exc()), file=sys.stderr)
        return 1
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
