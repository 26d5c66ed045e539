"""Bad input is a clear error naming the field and the fix, raised before any trial (no Ray here)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from paretosweep import api
from paretosweep.config import load_config, parse_spec
from paretosweep.errors import ConfigError, RunDirectoryError, UnknownNameError
from paretosweep.preflight import check_run_dir, prepare_run_dir, probe_run_dir

BASE: dict[str, Any] = {"problem": {"name": "fonseca"}, "budget": {"n_weights": 4, "epochs": 1}}


def with_(**changes: Any) -> dict[str, Any]:
    spec = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    for key, value in changes.items():
        spec[key] = {**spec.get(key, {}), **value} if isinstance(value, dict) and key in spec else value
    return spec


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("problem:\n  name: fonseca\nbudget: [1, 2\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line \d+"):
        load_config(path)


def test_missing_and_empty_spec_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(ConfigError, match="is empty"):
        load_config(tmp_path / "empty.yaml")


def test_unknown_key_gives_its_path_and_a_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("problem: {name: fonseca}\nsampler: {name: das_dennis, flor: 0.1}\n")
    with pytest.raises(ConfigError, match=r"`sampler.flor`: unknown key. Did you mean `floor`\?"):
        load_config(path)


@pytest.mark.parametrize("field", ["n_weights", "seeds_per_weight", "epochs"])
def test_non_positive_budget_is_rejected(field: str) -> None:
    with pytest.raises(ConfigError, match=f"budget.{field}"):
        parse_spec(with_(budget={field: 0}))


def test_unknown_scalarizer_and_sampler_are_rejected_with_their_path() -> None:
    with pytest.raises(ConfigError, match=r"scalarizer.name.*tchebycheff"):
        parse_spec(with_(scalarizer={"name": "chebyshev"}))
    with pytest.raises(ConfigError, match=r"sampler.name.*das_dennis"):
        parse_spec(with_(sampler={"name": "latin"}))


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([[0.7, 0.4]], r"sampler.weights\[0\].*\[0.7, 0.4\].*sums to 1.1"),
        ([[0.5, 0.5], [1.5, -0.5]], r"sampler.weights\[1\].*negative"),
        ([[0.2, 0.3, 0.5]], r"sampler.weights\[0\].*3 entries but the problem has 2 tasks"),
    ],
)
def test_weights_off_the_simplex_are_rejected_before_any_trial(weights: list[list[float]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        api.plan(with_(sampler={"name": "explicit", "weights": weights}))


def test_unknown_problem_has_a_did_you_mean() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean `fonseca`"):
        api.plan(with_(problem={"name": "fonseka"}))


def test_bad_import_path_names_the_field() -> None:
    with pytest.raises(ConfigError, match="problem.name"):
        api.plan(with_(problem={"name": "no_such_module_xyz:make"}))


def test_task_and_metric_the_problem_does_not_have() -> None:
    with pytest.raises(UnknownNameError, match=r"no task `f3`"):
        api.plan(with_(tasks={"f3": {"metric": "loss"}}))
    with pytest.raises(UnknownNameError, match=r"tasks.f1.metric.*Did you mean `loss`"):
        api.plan(with_(tasks={"f1": {"metric": "los"}}))


def test_reference_point_must_name_the_objective_columns() -> None:
    with pytest.raises(ConfigError, match="reference_point"):
        api.plan(with_(reference_point={"f1_loss": 1.0, "f9_loss": 1.0}))


def test_existing_run_directory_needs_resume_or_overwrite(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "trials.parquet").write_bytes(b"x")
    with pytest.raises(RunDirectoryError, match="--resume.*--overwrite"):
        check_run_dir(str(run), resume=False, overwrite=False)
    check_run_dir(str(run), resume=True, overwrite=False)  # allowed
    check_run_dir(str(run), resume=False, overwrite=True)  # allowed: then replaced, under the lease
    prepare_run_dir(str(run), overwrite=True)
    assert run.exists() and not (run / "trials.parquet").exists()


def test_overwrite_refuses_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunDirectoryError, match="holds no paretosweep run"):
        check_run_dir(str(tmp_path), resume=False, overwrite=True)
    assert (tmp_path / "notes.txt").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; see test_storage_under_a_file_is_unwritable")
def test_unwritable_storage_path(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(RunDirectoryError, match="Cannot write"):
        prepare_run_dir(str(locked / "run"), overwrite=False)


def test_storage_under_a_file_is_unwritable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(RunDirectoryError, match="Cannot write to run directory"):
        prepare_run_dir(str(tmp_path / "file" / "run"), overwrite=False)


def test_unwritable_filesystem_uri_is_a_run_directory_error() -> None:
    with pytest.raises(RunDirectoryError, match=r"Cannot write to run directory `file:///proc/"):
        prepare_run_dir("file:///proc/paretosweep-test/run", overwrite=False)


def test_filesystem_uri_run_directory_is_created_and_refused_when_it_holds_a_run(tmp_path: Path) -> None:
    uri = f"file://{tmp_path}/run"
    prepare_run_dir(uri, overwrite=False)
    assert (tmp_path / "run").is_dir()
    (tmp_path / "run" / "trials.parquet").write_bytes(b"x")
    with pytest.raises(RunDirectoryError, match="--resume"):
        check_run_dir(uri, resume=False, overwrite=False)


def test_a_dumped_spec_validates_again() -> None:
    """Exports carry the spec as dumped (defaults written out); it must reproduce the run."""
    for sampler in ({"name": "das_dennis"}, {"name": "adaptive", "n_initial": 3, "tolerance": 0.05}):
        spec = parse_spec(with_(sampler=sampler))
        assert parse_spec(spec.model_dump(mode="json")) == spec


def test_an_ideal_point_of_the_wrong_length_is_refused_at_plan_time() -> None:
    """A trial would fail on it; the plan builds the trial's scalarizer, so --dry-run refuses it."""
    with pytest.raises(ConfigError, match=r"`scalarizer.ideal` should have 2 entries .*found 3: \[0.0, 0.0, 0.0\]"):
        api.plan(with_(scalarizer={"name": "tchebycheff", "ideal": [0.0, 0.0, 0.0]}))


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text("problem: {name: fonseca}\nname: x\nbudget:\n  epochs: 1\nseed: 0\nbudget:\n  n_weights: 3\n")
    with pytest.raises(ConfigError, match=r"gives `budget` twice \(line 3 and line 6\)"):
        load_config(path)
    path.write_text("problem: {name: fonseca}\nbudget:\n  epochs: 1\n  n_weights: 3\n  epochs: 2\n")
    with pytest.raises(ConfigError, match=r"gives `budget.epochs` twice \(line 3 and line 5\)"):
        load_config(path)
    path.write_text("problem: {name: fonseca}\nmethods:\n  - {name: pcgrad}\n  - {name: gradnorm, alpha: 1, alpha: 2}\n")
    with pytest.raises(ConfigError, match=r"gives `methods\[1\].alpha` twice \(line 4 and line 4\)"):
        load_config(path)


def test_anchors_and_merge_keys_still_load(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text("problem: {name: fonseca}\nx-res: &r {cpu: 1}\nresources:\n  <<: *r\n  gpu: 0\n")
    with pytest.raises(ConfigError, match="`x-res`: unknown key"):  # loaded (not refused as a duplicate), then validated
        load_config(path)


def _factory_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> str:
    name = f"factory_{abs(hash(str(tmp_path))) % 10**8}"
    (tmp_path / f"{name}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_a_problem_factory_that_raises_is_named_with_its_error_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _factory_module(tmp_path, monkeypatch, "def make():\n    x = 1\n    raise RuntimeError('no data here')\n")
    with pytest.raises(ConfigError) as caught:
        api.plan(with_(problem={"name": f"{module}:make"}))
    message = str(caught.value)
    assert f"problem factory `{module}:make` (from `problem.name`) raised RuntimeError: no data here" in message
    assert f"(at {tmp_path / module}.py:3)" in message
    assert isinstance(caught.value.__cause__, RuntimeError)  # --debug prints the chain


def test_a_problem_factory_config_error_passes_through_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _factory_module(
        tmp_path,
        monkeypatch,
        "from paretosweep.errors import ConfigError\ndef make():\n    raise ConfigError('`problem.params.n` should be > 0')\n",
    )
    with pytest.raises(ConfigError, match=r"^`problem.params.n` should be > 0$"):
        api.plan(with_(problem={"name": f"{module}:make"}))


def _refused_in_a_fresh_process(spec: dict[str, Any]) -> tuple[str, bool]:
    """Run ``api.run(spec)`` in a new interpreter (no Ray of this test session's around it): the
    refusal's class and message, and whether Ray was started by then."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys, ray\n"
        "from paretosweep import api\n"
        "try:\n"
        "    api.run(json.loads(sys.argv[1]))\n"
        "except Exception as error:\n"
        "    print(json.dumps([type(error).__name__, str(error), ray.is_initialized()]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, json.dumps(spec)], capture_output=True, text=True, timeout=120)
    name, message, started = json.loads(done.stdout.strip().splitlines()[-1])
    return f"{name}: {message}", started


def test_a_gpu_this_machine_lacks_is_refused_before_ray_starts(tmp_path: Path) -> None:
    message, ray_started = _refused_in_a_fresh_process(with_(resources={"gpu": 64}, storage=str(tmp_path / "run")))
    assert re.search(r"ConfigError: `resources.gpu` asks for 64 GPU\(s\) per trial, but this machine has \d+", message)
    assert not ray_started and not (tmp_path / "run").exists()


def test_local_resource_check_rules() -> None:
    from paretosweep.cluster import check_local_trial_fits

    check_local_trial_fits(parse_spec(with_(resources={"gpu": 0.5})), gpus=1)
    with pytest.raises(ConfigError, match=r"Set `resources.gpu: 0` to train on CPUs, or set `ray.address`"):
        check_local_trial_fits(parse_spec(with_(resources={"gpu": 0.5})), gpus=0)
    with pytest.raises(ConfigError, match=r"Set `resources.gpu` to at most 2"):
        check_local_trial_fits(parse_spec(with_(resources={"gpu": 4})), gpus=2)
    check_local_trial_fits(parse_spec(with_(resources={"gpu": 4}, ray={"address": "auto"})), gpus=0)  # checked once connected
    with pytest.raises(ConfigError, match=r"`resources.cpu` asks for 3 CPU\(s\).*would have 2 \(`ray.num_cpus`\)"):
        check_local_trial_fits(parse_spec(with_(resources={"cpu": 3}, ray={"num_cpus": 2})))


def test_unwritable_storage_is_refused_before_ray_starts(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    message, ray_started = _refused_in_a_fresh_process(with_(storage=str(tmp_path / "file" / "run")))
    assert message.startswith("RunDirectoryError: Cannot write to run directory") and not ray_started


def test_the_write_probe_leaves_nothing_behind_unless_kept(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "run"
    probe_run_dir(str(target), keep=False)
    assert not (tmp_path / "a").exists()
    probe_run_dir(f"file://{target}", keep=False)
    assert not (tmp_path / "a").exists()
    probe_run_dir(str(target), keep=True)
    assert target.is_dir() and not any(target.iterdir())
