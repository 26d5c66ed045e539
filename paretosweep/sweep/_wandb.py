"""W&B's Ray Tune callback for a spec that logs locally (``mode: offline`` or ``disabled``)."""

from __future__ import annotations

import os
from typing import Any

from ray.air.integrations.wandb import WandbLoggerCallback


class LocalWandbLoggerCallback(WandbLoggerCallback):
    """``WandbLoggerCallback`` whose setup needs no API key when the spec sets ``mode: offline``.

    Ray's setup skips its API-key check only when the *environment* says ``WANDB_MODE=offline``;
    the spec's ``mode`` reaches ``wandb.init`` in the logging actors, so the driver lends it to
    the environment for the check alone and restores what was there.
    """

    def setup(self, *args: Any, **kwargs: Any) -> None:
        previous = os.environ.get("WANDB_MODE")
        os.environ["WANDB_MODE"] = str(self.kwargs["mode"])
        try:
            super().setup(*args, **kwargs)
        finally:
            if previous is None:
                os.environ.pop("WANDB_MODE", None)
            else:
                os.environ["WANDB_MODE"] = previous
