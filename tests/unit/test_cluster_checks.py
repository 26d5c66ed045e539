"""The cluster package's checks without a cluster: resources, addresses, problem modules, in-trial retries."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

import paretosweep
from paretosweep.cluster import (
    ClusterError,
    ClusterUnreachableError,
    check_driver_address,
    check_jobs_api,
    check_trial_fits,
    jobs_api_url,
    local_problem_modules,
)
from paretosweep.errors import ConfigError
from tests._loops import run_in_fresh_loop

CPU_NODE = {"Alive": True, "Resources": {"CPU": 8.0}}
GPU_NODE = {"Alive": True, "Resources": {"CPU": 4.0, "GPU": 2.0}}
DEAD_GPU_NODE = {"Alive": False, "Resources": {"CPU": 64.0, "GPU": 8.0}}


def spec(**resources: float) -> paretosweep.SweepSpec:
    return paretosweep.parse_spec({"problem": {"name": "fonseca"}, "resources": resources})


@pytest.mark.parametrize("resources", [{"cpu": 1}, {"cpu": 4, "gpu": 2}, {"cpu": 0.5, "gpu": 0.25}, {"cpu": 8}])
def test_a_trial_that_fits_on_some_node_passes(resources: dict[str, float]) -> None:
    check_trial_fits(spec(**resources), [CPU_NODE, GPU_NODE])


def test_more_gpus_than_any_alive_node_names_resources_gpu_and_the_most_there_is() -> None:
    with pytest.raises(ConfigError, match=r"`resources.gpu` asks for 3 GPU\(s\) per trial.*the most on one node is 2"):
        check_trial_fits(spec(gpu=3), [CPU_NODE, GPU_NODE, DEAD_GPU_NODE])
    with pytest.raises(ConfigError, match=r"`resources.gpu`.*Set `resources.gpu: 0` to train on CPUs"):
        check_trial_fits(spec(gpu=0.5), [CPU_NODE])


def test_cpu_and_gpu_that_fit_only_on_different_nodes_are_refused() -> None:
    with pytest.raises(ConfigError, match="`resources.cpu` asks for 16"):
        check_trial_fits(spec(cpu=16), [CPU_NODE, GPU_NODE])
    with pytest.raises(ConfigError, match="no single node of the Ray cluster has both"):
        check_trial_fits(spec(cpu=8, gpu=1), [CPU_NODE, GPU_NODE])


def test_max_retries_is_a_non_negative_integer() -> None:
    assert paretosweep.parse_spec({"problem": {"name": "fonseca"}}).max_retries == 0
    with pytest.raises(ConfigError, match="max_retries"):
        paretosweep.parse_spec({"problem": {"name": "fonseca"}, "max_retries": -1})


@pytest.fixture
def silent_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        yield int(sock.getsockname()[1])


@pytest.fixture
def http_port() -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"ray_version": "2.60.0"}')

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_a_refused_or_silent_driver_address_fails_within_the_timeout(silent_port: int) -> None:
    with pytest.raises(ClusterUnreachableError, match="connection refused"):
        check_driver_address("127.0.0.9:1")
    started = time.monotonic()
    with pytest.raises(ClusterUnreachableError, match=r"no answer within 1 s"):
        check_driver_address(f"127.0.0.1:{silent_port}", timeout=1)
    assert time.monotonic() - started < 3
    with pytest.raises(ClusterUnreachableError, match="Ray Client server"):
        check_driver_address("ray://127.0.0.9:1")


def test_an_http_server_given_as_driver_address_points_to_submit(http_port: int) -> None:
    with pytest.raises(ClusterError, match=rf"is an HTTP server.*paretosweep submit SPEC --address http://127.0.0.1:{http_port}"):
        check_driver_address(f"127.0.0.1:{http_port}")
    with pytest.raises(ClusterError, match="is a Jobs API address"):
        check_driver_address(f"http://127.0.0.1:{http_port}")


def test_jobs_api_address_comes_from_the_option_then_the_environment(
    monkeypatch: pytest.MonkeyPatch, http_port: int, silent_port: int
) -> None:
    monkeypatch.delenv("RAY_API_SERVER_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(ClusterError, match="No cluster address"):
        jobs_api_url(None)
    monkeypatch.setenv("RAY_ADDRESS", "http://10.0.0.1:8265")
    assert jobs_api_url(None) == "http://10.0.0.1:8265"
    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", "http://10.0.0.2:8265/")
    assert jobs_api_url(None) == "http://10.0.0.2:8265"
    assert jobs_api_url("https://head:8265") == "https://head:8265"  # an explicit address wins
    check_jobs_api(f"http://127.0.0.1:{http_port}")
    with pytest.raises(ClusterUnreachableError, match="timed out"):
        check_jobs_api(f"http://127.0.0.1:{silent_port}", timeout=0.5)


def test_only_local_problem_modules_are_shipped_with_a_job() -> None:
    assert local_problem_modules("fonseca") == []
    assert local_problem_modules("numpy.random:default_rng") == []  # installed: the cluster has it too
    assert local_problem_modules("json:loads") == []  # standard library
    (shipped,) = local_problem_modules("tests.problems_for_tests:make_quadratic")
    assert shipped.endswith("/tests")  # the top-level package folder


def test_a_trial_that_raises_is_retried_max_retries_times_with_the_count_in_hparams(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-trial retries: fresh training each attempt, then a normal row (status failed or completed)."""
    from paretosweep.planning import build_plan
    from paretosweep.sweep import _trainable
    from paretosweep.trial import TrialOutcome

    reports: list[dict[str, Any]] = []
    monkeypatch.setattr(_trainable.tune, "report", reports.append)
    monkeypatch.setattr("ray.get_gpu_ids", lambda: [])
    monkeypatch.setattr("ray.util.get_node_ip_address", lambda: "10.0.0.7")

    def flaky(failures: int) -> Any:
        calls = []

        def run(*args: Any, **kwargs: Any) -> TrialOutcome:
            calls.append(1)
            if len(calls) <= failures:
                raise RuntimeError(f"transient failure {len(calls)}")
            return TrialOutcome(status="completed", metrics={"f1_loss": 0.5, "f2_loss": 0.5}, epochs_done=1)

        return run

    sweep = paretosweep.parse_spec({"problem": {"name": "fonseca"}, "budget": {"n_weights": 2, "epochs": 1}, "max_retries": 2})
    trial = build_plan(sweep).trials[0]
    for failures, status, attempts in ((2, "completed", 3), (3, "failed", 3), (0, "completed", 1)):
        reports.clear()
        monkeypatch.setattr(_trainable, "run_in_context", flaky(failures))
        _trainable.run_trial({"trial": trial.to_dict()}, sweep)
        row = json.loads(reports[-1][_trainable.ROW_KEY])
        assert (row["status"], json.loads(row["hparams"])["attempts"], row["node"]) == (status, attempts, "10.0.0.7")
        if status == "failed":
            assert row["error"].startswith("RuntimeError: transient failure 3") and "(failed 3 attempts)" in row["error"]


def test_following_logs_works_where_an_event_loop_already_runs() -> None:
    """`logs --follow` drives Ray's async log tail; a caller's running loop (a notebook, a sync Playwright) must not matter."""
    from paretosweep.cluster._jobs import _iterate_async

    async def chunks() -> Any:
        for chunk in ("line 1\n", "line 2\n"):
            await asyncio.sleep(0)
            yield chunk

    async def inside_a_running_loop() -> list[str]:
        return list(_iterate_async(chunks))

    assert run_in_fresh_loop(inside_a_running_loop) == ["line 1\n", "line 2\n"]
    assert list(_iterate_async(chunks)) == ["line 1\n", "line 2\n"]

    async def broken() -> Any:
        yield "partial\n"
        raise RuntimeError("websocket closed")

    follow = _iterate_async(broken)
    assert next(follow) == "partial\n"
    with pytest.raises(ClusterError, match="websocket closed"):
        next(follow)
