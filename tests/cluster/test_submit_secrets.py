"""`paretosweep submit` on the two-node loopback cluster: no secret leaks, single-file problem modules ship.

The cluster is the one of ``test_two_node`` (a fixture of this module: its own head and worker).
A storage URI with fake S3 credentials points at a loopback HTTP server that answers every request
like S3 refusing it (403 AccessDenied) and records the access key each request was signed with: the
job must reach it with the credentials, fail with one clear, redacted message, and leave the secret
nowhere Ray shows or writes (entrypoint, runtime env, status, log, every file of the nodes' temp dirs
outside the job's own working-dir package).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import paretosweep
from paretosweep.cluster._job_secrets import SECRETS_FILE
from tests._s3 import refusing_s3
from tests.cluster.test_two_node import HEAD_IP, WORKER_IP, Cluster, cli, cluster, fonseca, wait_job, write_spec

__all__ = ["cluster", "refusing_s3"]  # fixtures: this module's own two-node cluster, the refusing S3 endpoint

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

KEY_ID = "PSFAKEKEYID0123"
SECRET = "PsFakeSecretValue987654321"
TOKEN = "PsTrackingToken555000"

#: A single-file problem module: Fonseca-Fleming that insists on an environment variable in every process.
#: Its trials meet before they evaluate: each marks its node in the folder ``meeting`` and waits (at most a
#: minute) until trials of two nodes have marked theirs. Without that, the head could run every trial: Tune
#: (``reuse_actors``) hands a trial whose actor is still starting on the worker to the head's freed actor and
#: drops the worker's, so on a loaded machine where a worker actor starts slower than a trial runs, the worker
#: never gets one.
LONE_MODULE = '''
import os
import time
from pathlib import Path

from paretosweep.problems._fonseca import FonsecaFleming


class MeetingFonseca(FonsecaFleming):
    def __init__(self, *, meeting: str, **kwargs):
        super().__init__(**kwargs)
        self.meeting = meeting

    def evaluate(self, model, device):
        import ray

        folder = Path(self.meeting)
        (folder / ray.util.get_node_ip_address()).touch()
        deadline = time.monotonic() + 60
        while len(list(folder.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        return super().evaluate(model, device)


def make_lone(*, steps_per_epoch: int = 5, require_env: str = "", expect: str = "", meeting: str = ""):
    """Fonseca-Fleming; fails unless ``require_env`` is set to ``expect`` in this process."""
    if require_env and os.environ.get(require_env) != expect:
        raise RuntimeError(f"{require_env} is not set as expected in process {os.getpid()}")
    return MeetingFonseca(meeting=meeting, n_dim=3, steps_per_epoch=steps_per_epoch, init_range=1.0)
'''


def _files_with(cluster: Cluster, needle: str) -> list[str]:
    """Files of the nodes' temp dirs that contain ``needle``, leaving out the jobs' working-dir packages."""
    found = []
    for temp in cluster.temp_dirs:
        for path in Path(temp).rglob("*"):
            if not path.is_file() or path.name == SECRETS_FILE or path.suffix == ".zip" or "working_dir_files" in path.parts:
                continue
            try:
                if needle.encode() in path.read_bytes():
                    found.append(str(path))
            except OSError:
                continue
    return found


def test_storage_credentials_stay_out_of_the_job_and_a_refusal_is_a_clear_message(
    cluster: Cluster, tmp_path: Path, refusing_s3: tuple[str, list[str]]
) -> None:
    endpoint, seen = refusing_s3
    storage = f"s3://{KEY_ID}:{SECRET}@nonexistent-bucket/runs/fon?endpoint_override={endpoint}&scheme=http"
    spec = write_spec(tmp_path / "fon.yaml", **fonseca(tmp_path / "unused", n_weights=2, steps=5, epochs=1))
    submitted = cli("submit", str(spec), "--address", cluster.jobs, "--storage", storage)
    assert submitted.exit_code == 0, submitted.output
    assert SECRET not in submitted.output and "went to the job in a file of its working directory" in " ".join(submitted.output.split())
    job_id = submitted.stdout.strip()
    assert wait_job(cluster, job_id, timeout=120) == "FAILED"

    from ray.job_submission import JobSubmissionClient

    info = JobSubmissionClient(cluster.jobs).get_job_info(job_id)
    assert KEY_ID not in info.entrypoint and SECRET not in info.entrypoint and "--storage" not in info.entrypoint
    assert SECRET not in json.dumps(info.runtime_env) and KEY_ID not in json.dumps(info.runtime_env)
    assert SECRET not in (info.message or "")

    status = cli("status", job_id, "--address", cluster.jobs)
    log = cli("logs", job_id, "--address", cluster.jobs)
    for text in (status.output, log.stdout):
        assert SECRET not in text and KEY_ID not in text
    said = " ".join(status.output.split())
    expected = f"Cannot use storage `s3://nonexistent-bucket/runs/fon?endpoint_override={endpoint}&scheme=http`"
    assert expected in said and "check the credentials" in said, said
    assert "Traceback" not in log.stdout, log.stdout[-3000:]
    assert seen and set(seen) == {KEY_ID}, seen  # the driver signed its requests with the URI's key
    assert _files_with(cluster, SECRET) == []


def test_a_single_file_problem_module_ships_and_secret_env_reaches_every_trial(cluster: Cluster, tmp_path: Path) -> None:
    (tmp_path / "lone_problem_ps.py").write_text(LONE_MODULE)
    run_dir, meeting = tmp_path / "run", tmp_path / "meeting"
    meeting.mkdir()
    spec = write_spec(
        tmp_path / "lone.yaml",
        **{
            **fonseca(run_dir, n_weights=8, steps=5, epochs=2),
            "problem": {
                "name": "lone_problem_ps:make_lone",
                "params": {"steps_per_epoch": 5, "require_env": "PS_TRACKING_TOKEN", "expect": TOKEN, "meeting": str(meeting)},
            },
        },
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PS_TRACKING_TOKEN", TOKEN)
        submitted = cli("submit", str(spec), "--address", cluster.jobs, "--secret-env", "PS_TRACKING_TOKEN")
    assert submitted.exit_code == 0, submitted.output
    job_id = submitted.stdout.strip()
    state = wait_job(cluster, job_id, timeout=180)
    log = cli("logs", job_id, "--address", cluster.jobs).stdout
    assert state == "SUCCEEDED", log[-3000:]
    trials = paretosweep.load_trials(str(run_dir))
    assert len(trials) == 8 and set(trials.status) == {"completed"}, trials[["status", "error"]]
    assert set(trials.node) == {HEAD_IP, WORKER_IP}, (  # the module and the secret reached the trials on both nodes
        f"{trials[['trial_id', 'node']]}, met: {sorted(p.name for p in meeting.iterdir())}\n{log[-3000:]}"
    )

    from ray.job_submission import JobSubmissionClient

    info = JobSubmissionClient(cluster.jobs).get_job_info(job_id)
    assert TOKEN not in info.entrypoint and TOKEN not in json.dumps(info.runtime_env) and TOKEN not in log
    assert "py_modules" not in (info.runtime_env or {})  # the lone file went in the working dir


def test_a_missing_secret_env_is_refused_before_submitting(cluster: Cluster, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "fon.yaml", **fonseca(tmp_path / "run", n_weights=2, steps=5, epochs=1))
    result = cli("submit", str(spec), "--address", cluster.jobs, "--secret-env", "PS_SURELY_UNSET_VARIABLE")
    assert result.exit_code == 2 and "PS_SURELY_UNSET_VARIABLE" in result.output
