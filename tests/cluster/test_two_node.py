"""A real two-node Ray cluster on loopback: submit through the Jobs API, kill a node, kill the driver.

The head is 127.0.0.2 and the worker 127.0.0.3 (loopback addresses of their own, so Ray keeps the
cluster on loopback); each node has 1 CPU, its own ``--temp-dir`` and its own ports, so the test
never touches another Ray on the machine. Every process the test starts runs in its own process
group and is killed by it (SIGTERM, then SIGKILL) — never ``ray stop``, which stops every Ray of the
machine. The tests run in file order and share the cluster; the one that kills the worker is last.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

import paretosweep
from paretosweep.cli import app
from tests._loops import run_in_fresh_loop

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

HEAD_IP, WORKER_IP = "127.0.0.2", "127.0.0.3"
BIN = Path(sys.executable).parent
runner = CliRunner()

#: A problem whose epochs last a fixed wall time (shipped to the nodes by `submit`, see its module).
SLEEPY = "tests.cluster.sleepy_problem:make_sleepy_quadratic"
#: 8 linear weight vectors (w, 1 - w); under `fail_above: 0.8` the first one (x* = 2w - 1 = 0.9) fails.
WEIGHTS = [[0.95, 0.05], [0.8, 0.2], [0.65, 0.35], [0.5, 0.5], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8], [0.05, 0.95]]


_USED_PORTS: set[int] = set()


def _free_ports(n: int) -> list[int]:
    """``n`` distinct free ports, none handed out before in this session (sockets held open while choosing)."""
    socks, ports = [], []
    try:
        while len(ports) < n:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
            port = int(sock.getsockname()[1])
            if port not in _USED_PORTS:
                _USED_PORTS.add(port)
                ports.append(port)
    finally:
        for sock in socks:
            sock.close()
    return ports


def _node_ports() -> list[str]:
    """Every port a node listens on, chosen free, so that no default port (10001, 52365, ...) is shared."""
    names = (
        "node-manager-port",
        "object-manager-port",
        "metrics-export-port",
        "dashboard-agent-listen-port",
        "dashboard-agent-grpc-port",
        "runtime-env-agent-port",
    )
    return [f"--{name}={port}" for name, port in zip(names, _free_ports(len(names)))]


def _env() -> dict[str, str]:
    """No token on loopback; no RAY_ADDRESS leaking in; this venv's `paretosweep` first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in {"RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "PYTHONPATH"}}
    env.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0", PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    return env


@dataclass
class Cluster:
    """A head and a worker, started with ``ray start --block`` in process groups of their own."""

    gcs: str = ""
    jobs: str = ""
    temp_dirs: list[str] = field(default_factory=list)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: list[Any] = field(default_factory=list)

    def start_head(self) -> None:
        port, dashboard, client = _free_ports(3)
        self.gcs, self.jobs = f"{HEAD_IP}:{port}", f"http://{HEAD_IP}:{dashboard}"
        env = _env()
        # Notice a dead node in ~5 s instead of ~15-30 s, so a killed worker's trial is retried soon (not
        # faster: on a busy machine a live raylet can miss a beat, and a node declared dead never comes back).
        env.update(RAY_health_check_initial_delay_ms="2000", RAY_health_check_period_ms="1000", RAY_health_check_failure_threshold="5")
        self._start(
            "head",
            [
                "--head",
                f"--node-ip-address={HEAD_IP}",
                f"--port={port}",
                f"--dashboard-host={HEAD_IP}",
                f"--dashboard-port={dashboard}",
                f"--ray-client-server-port={client}",
                "--num-cpus=1",
                '--resources={"head_node": 1}',
            ],
            env,
        )

    def start_worker(self) -> None:
        self._start("worker", [f"--address={self.gcs}", f"--node-ip-address={WORKER_IP}", "--num-cpus=1"], _env())

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        temp = tempfile.mkdtemp(prefix=f"ps-{name}-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
        self.temp_dirs.append(temp)
        log = open(Path(temp) / f"{name}.out", "wb")  # noqa: SIM115 - closed by close()
        self.logs.append(log)
        self.procs[name] = subprocess.Popen(
            [str(BIN / "ray"), "start", *args, f"--temp-dir={temp}", "--disable-usage-stats", "--block", *_node_ports()],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive_nodes(self) -> set[str]:
        from ray.util.state import list_nodes

        try:
            return {n.node_ip for n in list_nodes(address=self.jobs, timeout=5) if n.state == "ALIVE"}
        except Exception:
            return set()

    def wait_nodes(self, expected: set[str], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while self.alive_nodes() != expected:
            for name, proc in self.procs.items():
                assert proc.poll() is None, f"`ray start` of the {name} exited: {self.log(name)}"
            assert time.monotonic() < deadline, f"nodes alive: {self.alive_nodes()}, expected {expected}"
            time.sleep(0.5)

    def trial_running_on(self, ip: str) -> bool:
        """Whether a Tune trial actor (class ``ImplicitFunc``) is alive on the node with this IP."""
        from ray.util.state import list_actors, list_nodes

        nodes = {n.node_id for n in list_nodes(address=self.jobs, timeout=5) if n.node_ip == ip and n.state == "ALIVE"}
        actors = list_actors(address=self.jobs, filters=[("state", "=", "ALIVE"), ("class_name", "=", "ImplicitFunc")], timeout=5)
        return any(a.node_id in nodes for a in actors)

    def cpu_usage(self) -> tuple[float, float]:
        """(CPUs in use, CPUs in total) from the autoscaler's report (refreshed every few seconds)."""
        import requests

        status = requests.get(f"{self.jobs}/api/cluster_status?format=0", timeout=5).json()["data"]["clusterStatus"]
        used, total = status["loadMetricsReport"]["usage"].get("CPU", [0.0, 0.0])
        return float(used), float(total)

    def wait_idle(self, timeout: float = 60) -> None:
        """Wait until both nodes' CPUs are free (nothing left over from an earlier test holds one)."""
        deadline = time.monotonic() + timeout
        while self.cpu_usage() != (0.0, 2.0):
            assert time.monotonic() < deadline, f"cluster not idle: CPU {self.cpu_usage()}; {self.describe()}"
            time.sleep(0.5)

    def describe(self) -> str:
        """Alive nodes and actors, for failure messages."""
        from ray.util.state import list_actors, list_nodes

        nodes = {n.node_id: n.node_ip for n in list_nodes(address=self.jobs, timeout=5) if n.state == "ALIVE"}
        actors = [
            (a.class_name, nodes.get(a.node_id, a.node_id), a.job_id, a.state)
            for a in list_actors(address=self.jobs, timeout=5)
            if a.state != "DEAD"
        ]
        tails = []
        for temp in self.temp_dirs:
            for name in ("raylet.out", "runtime_env_agent.log"):
                path = Path(temp) / "session_latest" / "logs" / name
                if path.exists():
                    tails.append(f"--- {path}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-15:]))
        return f"nodes {sorted(nodes.values())}, actors {actors}\n" + "\n".join(tails)

    def log(self, name: str) -> str:
        path = next(Path(d) / f"{name}.out" for d in self.temp_dirs if (Path(d) / f"{name}.out").exists())
        return path.read_text(errors="replace")[-3000:]

    def kill(self, name: str) -> None:
        """SIGTERM the node's process group, SIGKILL what is left after 3 s."""
        proc = self.procs.pop(name, None)
        if proc is not None:
            _kill_group(proc)

    def close(self) -> None:
        for name in list(self.procs):
            self.kill(name)
        for pid in _pids_using(self.temp_dirs):  # e.g. a job's driver, which Ray starts in a session of its own
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for log in self.logs:
            log.close()
        for temp in self.temp_dirs:
            shutil.rmtree(temp, ignore_errors=True)


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        deadline = time.monotonic() + wait
        while proc.poll() is None or _group_alive(proc.pid):  # poll() reaps the leader: a zombie counts as alive
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        else:
            return


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pids_using(prefixes: list[str]) -> list[int]:
    """Processes whose command line or working directory lies in one of this test's Ray temp dirs."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if any(p in cmdline or cwd.startswith(p) for p in prefixes):
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    started = Cluster()
    try:
        started.start_head()
        started.start_worker()
        started.wait_nodes({HEAD_IP, WORKER_IP})
        yield started
    finally:
        started.close()


# --------------------------------------------------------------------------- helpers


def write_spec(path: Path, **spec: Any) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def fonseca(storage: Path, *, n_weights: int, steps: int, epochs: int = 2, **extra: Any) -> dict[str, Any]:
    return {
        "name": "fon",
        "problem": {"name": "fonseca", "params": {"steps_per_epoch": steps}},
        "scalarizer": {"name": "tchebycheff"},
        "sampler": {"name": "das_dennis"},
        "budget": {"n_weights": n_weights, "epochs": epochs, "lr": 0.02},
        "concurrency": 2,
        "storage": str(storage.resolve()),
        **extra,
    }


def sleepy(storage: Path, *, epoch_seconds: float, fail_above: float | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": "sleepy",
        "problem": {"name": SLEEPY, "params": {"epoch_seconds": epoch_seconds, "fail_above": fail_above}},
        "scalarizer": {"name": "linear"},
        "sampler": {"name": "explicit", "weights": WEIGHTS},
        "budget": {"epochs": 2, "lr": 0.05, "optimizer": "adam"},
        "concurrency": 2,
        "storage": str(storage.resolve()),
        **extra,
    }


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def wait_job(cluster: Cluster, job_id: str, timeout: float = 150) -> str:
    deadline = time.monotonic() + timeout
    while True:
        result = cli("status", job_id, "--address", cluster.jobs)
        assert result.exit_code == 0, result.output
        state = result.stdout.strip().splitlines()[0]
        if state in {"SUCCEEDED", "FAILED", "STOPPED"}:
            return state
        assert time.monotonic() < deadline, f"job {job_id} still {state}: {cli('logs', job_id, '--address', cluster.jobs).stdout[-3000:]}"
        time.sleep(1)


def rows(run_dir: Path) -> int:
    try:
        return pq.read_metadata(run_dir / "trials.parquet").num_rows
    except (OSError, ValueError):
        return 0


def driver(spec: Path, address: str, *args: str, log: Path) -> subprocess.Popen[bytes]:
    """`paretosweep run SPEC --address ...` as a process of its own (its own process group)."""
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [str(BIN / "paretosweep"), "run", str(spec), "--address", address, *args],
            env=_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


# --------------------------------------------------------------------------- tests


def test_submit_runs_the_sweep_on_both_nodes_and_status_logs_stop_work(cluster: Cluster, tmp_path: Path) -> None:
    # 8 trials of ~2 s: the head alone would need ~16 s, time for the worker's trial actor to start.
    spec = write_spec(tmp_path / "sleepy.yaml", **sleepy(tmp_path / "run", epoch_seconds=1.0, checkpoints={"keep": "all"}))
    submitted = cli("submit", str(spec), "--address", cluster.jobs)  # ships tests/ (py_modules): the nodes lack it
    assert submitted.exit_code == 0, submitted.output
    job_id = submitted.stdout.strip()
    assert job_id.startswith("raysubmit_"), submitted.stdout

    assert wait_job(cluster, job_id) == "SUCCEEDED", cli("logs", job_id, "--address", cluster.jobs).stdout[-3000:]
    trials = paretosweep.load_trials(str(tmp_path / "run"))
    assert len(trials) == 8 and trials.trial_id.is_unique and set(trials.status) == {"completed"}
    assert set(trials.node) == {HEAD_IP, WORKER_IP}  # trials ran on both nodes
    assert {json.loads(h)["attempts"] for h in trials.hparams} == {1}
    for trial in trials.itertuples():  # each node's checkpoints reached the run's storage through Tune
        saved = paretosweep.load_checkpoint(str(tmp_path / "run"), trial.trial_id)
        assert saved["epoch"] == 1 and set(saved) == {"model", "optimizer", "epoch", "generator"}, trial.node

    logs = cli("logs", job_id, "--address", cluster.jobs)
    assert logs.exit_code == 0 and "8 completed" in " ".join(logs.stdout.split())

    async def follow_inside_a_running_loop() -> Any:  # as in a notebook, or a session that runs a sync Playwright
        return cli("logs", job_id, "--address", cluster.jobs, "--follow")

    followed = run_in_fresh_loop(follow_inside_a_running_loop)  # a finished job: the whole log, then the end
    assert followed.exit_code == 0 and "8 completed" in " ".join(followed.stdout.split()), followed.output

    stopped = cli("stop", job_id, "--address", cluster.jobs)
    assert stopped.exit_code == 2 and "already finished with status SUCCEEDED" in stopped.output
    missing = cli("status", "raysubmit_nosuchjob", "--address", cluster.jobs)
    assert missing.exit_code == 2 and "No job `raysubmit_nosuchjob`" in missing.output
    assert cli("logs", "raysubmit_nosuchjob", "--address", cluster.jobs).exit_code == 2


def test_stop_stops_a_running_job(cluster: Cluster, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "long.yaml", **sleepy(tmp_path / "run", epoch_seconds=30.0))
    submitted = cli("submit", str(spec), "--address", cluster.jobs)
    assert submitted.exit_code == 0, submitted.output
    job_id = submitted.stdout.strip()
    deadline = time.monotonic() + 60
    while cli("status", job_id, "--address", cluster.jobs).stdout.strip() != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    stopped = cli("stop", job_id, "--address", cluster.jobs)
    assert stopped.exit_code == 0 and f"Asked Ray to stop job {job_id}" in stopped.stdout
    assert wait_job(cluster, job_id, timeout=60) == "STOPPED"


def test_a_relative_run_directory_or_a_bad_spec_is_refused_before_submitting(cluster: Cluster, tmp_path: Path) -> None:
    relative = write_spec(tmp_path / "rel.yaml", **{**fonseca(tmp_path, n_weights=2, steps=10), "storage": "runs/x"})
    result = cli("submit", str(relative), "--address", cluster.jobs)
    assert result.exit_code == 2 and "`storage` is `runs/x`, a relative path" in " ".join(result.output.split())
    bad = write_spec(tmp_path / "bad.yaml", **{**fonseca(tmp_path / "r", n_weights=2, steps=10), "budget": {"n_weigths": 2}})
    result = cli("submit", str(bad), "--address", cluster.jobs)
    assert result.exit_code == 2 and "budget.n_weigths" in result.output


def test_a_storage_the_cluster_cannot_write_fails_the_job_with_a_clear_status(cluster: Cluster, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "ro.yaml", **{**fonseca(tmp_path, n_weights=2, steps=10), "storage": "/proc/paretosweep-run"})
    submitted = cli("submit", str(spec), "--address", cluster.jobs)
    assert submitted.exit_code == 0, submitted.output
    job_id = submitted.stdout.strip()
    assert wait_job(cluster, job_id, timeout=60) == "FAILED"
    status = cli("status", job_id, "--address", cluster.jobs)
    assert "Cannot write to run directory `/proc/paretosweep-run`" in " ".join(status.output.split())


def test_a_driver_killed_mid_sweep_resumes_with_one_row_per_trial(cluster: Cluster, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    # The run directory as a pyarrow filesystem URI (file://: the one scheme that needs no service offline).
    spec = write_spec(tmp_path / "fon.yaml", **{**fonseca(run_dir, n_weights=16, steps=1000), "storage": f"file://{run_dir.resolve()}"})
    first = driver(spec, cluster.gcs, log=tmp_path / "first.log")
    try:
        deadline = time.monotonic() + 120
        while rows(run_dir) == 0:
            assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "first.log").read_text()[-3000:]
            time.sleep(0.05)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        _kill_group(first)
    before = rows(run_dir)
    assert 0 < before < 16, f"the driver should die mid-sweep; {before} rows were stored"

    resumed = subprocess.run(
        [str(BIN / "paretosweep"), "run", str(spec), "--address", cluster.gcs, "--resume"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=180,
        start_new_session=True,
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert f"({before} already done)" in " ".join(resumed.stdout.split())
    trials = paretosweep.load_trials(str(run_dir))
    planned = {t.trial_id for t in paretosweep.api.plan(str(spec)).trials}
    assert len(trials) == 16 and trials.trial_id.is_unique and set(trials.trial_id) == planned
    assert set(trials.status) == {"completed"}


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def test_an_unreachable_address_fails_within_seconds(cluster: Cluster, tmp_path: Path, silent_port: int) -> None:
    spec = write_spec(tmp_path / "fon.yaml", **fonseca(tmp_path / "run", n_weights=2, steps=10))
    for address, expected in (
        ("http://127.0.0.9:1", "Cannot reach the Ray Jobs API at http://127.0.0.9:1 (connection refused)"),
        ("127.0.0.9:1", "Cannot reach the Ray cluster at `127.0.0.9:1` (connection refused)"),
        (f"http://127.0.0.1:{silent_port}", f"Cannot reach the Ray Jobs API at http://127.0.0.1:{silent_port} (timed out)"),
    ):
        started = time.monotonic()
        result = cli("submit", str(spec), "--address", address)
        assert time.monotonic() - started < 10
        assert result.exit_code == 2 and expected in " ".join(result.output.split()), result.output

    for address, expected in (
        ("127.0.0.9:1", "Cannot reach the Ray cluster at `127.0.0.9:1` (connection refused)"),
        (f"127.0.0.1:{silent_port}", f"Cannot reach the Ray cluster at `127.0.0.1:{silent_port}` (no answer within 5 s)"),
        (cluster.jobs.removeprefix("http://"), "is an HTTP server (the Ray dashboard and Jobs API?), not a cluster address"),
    ):
        # The driver, as a process of its own: its time includes importing torch and Ray (~5 s here).
        started = time.monotonic()
        result = subprocess.run(
            [str(BIN / "paretosweep"), "run", str(spec), "--address", address, "--overwrite"],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert time.monotonic() - started < 30
        assert result.returncode == 2 and expected in " ".join(result.stderr.split()), result.stderr


def test_more_gpus_per_trial_than_any_node_has_is_a_config_error(cluster: Cluster, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "gpu.yaml", **fonseca(tmp_path / "run", n_weights=2, steps=10, resources={"cpu": 1, "gpu": 1}))
    submitted = cli("submit", str(spec), "--address", cluster.jobs)  # checked against the nodes before submitting
    assert submitted.exit_code == 2 and "`resources.gpu` asks for 1 GPU(s) per trial" in " ".join(submitted.output.split())
    result = subprocess.run(
        [str(BIN / "paretosweep"), "run", str(spec), "--address", cluster.gcs], env=_env(), capture_output=True, text=True, timeout=120
    )
    text = " ".join(result.stderr.split())
    assert result.returncode == 2 and "`resources.gpu` asks for 1 GPU(s) per trial" in text and "no node" in text, text


def test_a_worker_node_killed_mid_sweep_is_retried_and_the_sweep_completes(cluster: Cluster, tmp_path: Path) -> None:
    """Last: it kills the worker. Its running trial is retried on the head (Tune's max_failures)."""
    run_dir = tmp_path / "run"
    spec = write_spec(tmp_path / "sleepy.yaml", **sleepy(run_dir, epoch_seconds=4.0, fail_above=0.8, max_retries=2))
    cluster.wait_idle()  # the worker's CPU must be free for this job's trials
    submitted = cli("submit", str(spec), "--address", cluster.jobs)
    assert submitted.exit_code == 0, submitted.output
    job_id = submitted.stdout.strip()
    deadline = time.monotonic() + 120
    while not cluster.trial_running_on(WORKER_IP):  # the worker's trial actor trains from the moment it is up
        assert time.monotonic() < deadline, (
            f"{cluster.describe()}, rows {rows(run_dir)}: " + cli("logs", job_id, "--address", cluster.jobs).stdout[-3000:]
        )
        time.sleep(0.2)
    time.sleep(0.5)
    cluster.kill("worker")

    state = wait_job(cluster, job_id)
    log = cli("logs", job_id, "--address", cluster.jobs).stdout
    assert state == "SUCCEEDED", log[-3000:]
    assert "The actor died because its node has died" in log  # a trial was running there, and was retried
    assert f"lost its worker on node {WORKER_IP}" in " ".join(log.split()), log[-3000:]  # the driver says which node
    trials = paretosweep.load_trials(str(run_dir))
    assert len(trials) == len(WEIGHTS) and trials.trial_id.is_unique
    assert set(trials.trial_id) == {t.trial_id for t in paretosweep.api.plan(str(spec)).trials}
    failing = trials[[w[0] > 0.9 for w in trials.weights]].iloc[0]  # fails in the trial: 1 + max_retries attempts,
    hparams = json.loads(failing.hparams)  # plus one per worker it lost with the killed node
    assert failing.status == "failed" and "fail_above" in failing.error
    assert hparams["attempts"] == 3 + len(hparams.get("lost_nodes", []))
    completed = trials[[w[0] < 0.9 for w in trials.weights]]
    assert set(completed.status) == {"completed"}
    # every row records its attempts and the nodes it lost: one more attempt per lost worker, retried on the head
    lost = [json.loads(h).get("lost_nodes", []) for h in trials.hparams]
    assert any(lost) and all(nodes in ([], [WORKER_IP]) for nodes in lost), lost
    for (_, row), nodes in zip(trials.iterrows(), lost):
        if row.status == "completed":
            assert json.loads(row.hparams)["attempts"] == 1 + len(nodes), row.hparams
            assert not nodes or row.node == HEAD_IP, (row.node, nodes)
    assert cluster.alive_nodes() == {HEAD_IP}
