"""A local run on a storage URI with credentials: the credentials go to the environment, the URI on clean.

``storage: s3://KEY:SECRET@bucket/run`` works for a local ``paretosweep run`` as it does in pyarrow,
but the URI would otherwise reach Ray Tune's ``storage_path``, every trial's parameters, the spec
stored in the run's metadata, and every message and log line. :func:`move_storage_credentials` moves
them, before anything else of the run, into the AWS SDK's environment variables of this process
(``_redact.split_credentials``): pyarrow's S3 filesystem reads them there, and the local Ray this
driver starts, and its trial workers, inherit them. A Ray cluster the driver attaches to does not,
so there the URI is refused with the two ways that work (``paretosweep submit``, which ships them
in a file, or the nodes' own credentials).
"""

from __future__ import annotations

import logging
import os

from paretosweep._redact import has_credentials, redact, split_credentials
from paretosweep.config import SweepSpec
from paretosweep.errors import RunDirectoryError

logger = logging.getLogger(__name__)


def move_storage_credentials(spec: SweepSpec, *, attached: bool) -> SweepSpec:
    """``spec`` with its storage URI's credentials moved into ``os.environ`` (unchanged if it has none).

    Args:
        spec: a validated spec.
        attached: whether the sweep runs on a Ray it does not start here (``ray.address`` set, or a
            Ray already initialised in this process), whose workers would not see the variables.

    Raises:
        RunDirectoryError: credentials in the URI of a sweep on an attached Ray, or credentials
            paretosweep cannot move (see ``split_credentials``).
    """
    if not spec.storage or not has_credentials(spec.storage):
        return spec
    if attached:
        raise RunDirectoryError(
            f"`storage` `{redact(spec.storage)}` carries credentials, and this sweep runs on a Ray cluster it does not "
            "start, whose trial workers would not have them. Submit it with `paretosweep submit` (which sends them to the "
            "job in a file), or remove them from the URI and give the cluster's nodes their own credentials "
            "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or ~/.aws/credentials)."
        )
    clean, variables = split_credentials(spec.storage)
    os.environ.update(variables)  # read by pyarrow here and in the local Ray's workers, which inherit them
    logger.info("The credentials of `storage` went to this process's %s; the run uses `%s`.", ", ".join(sorted(variables)), clean)
    return spec.model_copy(update={"storage": clean})
