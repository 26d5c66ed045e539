"""Offline checks of docker/: the images, the compose cluster and the KubeRay manifests.

No Docker engine or Kubernetes cluster is needed. ``docker/validate.sh`` runs the real tools
(hadolint, Docker Compose v2, kubernetes-validate, a wheel build from the build context);
the tests below run it, then check what those tools cannot know: that the compose cluster
and the KubeRay manifests are a paretosweep cluster with Ray token authentication on every
node and one shared /runs. The ``*_problems`` checkers return a list of problems, and the
``test_*_catches_*`` tests break a copy of the real files to show that each checker fails
when it should.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
KUBERAY = DOCKER / "kuberay"
DOCKERFILES = {"cpu": DOCKER / "Dockerfile.cpu", "cuda": DOCKER / "Dockerfile.cuda"}
RAY_IMAGE_TAG = re.compile(r"^rayproject/ray:(\d+\.\d+\.\d+)-py311-(cpu|cu12\d)$")
SECRET_KEY = "auth_token"  # the key KubeRay's authOptions reads from the Secret


# ----------------------------------------------------------------------------- validate.sh


@pytest.fixture(scope="module")
def compose_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Run docker/validate.sh once; return the compose models it resolved (JSON)."""
    if shutil.which("bash") is None:
        pytest.skip("docker/validate.sh needs bash")
    out = tmp_path_factory.mktemp("compose")
    proc = subprocess.run(
        ["bash", str(DOCKER / "validate.sh"), "--emit-compose-json", str(out)],
        capture_output=True,
        text=True,
        timeout=540,  # under pytest-timeout's 600 s, so a hang reports as a failure here
    )
    if proc.returncode == 3:
        pytest.skip(f"docker/validate.sh could not install its tools: {proc.stderr.strip()[-800:]}")
    assert proc.returncode == 0, f"docker/validate.sh failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    assert "all docker/ checks passed" in proc.stdout
    return {
        "default": json.loads((out / "compose.json").read_text()),
        "gpu": json.loads((out / "compose.gpu.json").read_text()),
    }


def test_validate_script_passes(compose_models: dict[str, dict[str, Any]]) -> None:
    """hadolint, compose config, kubernetes-validate and the context build all pass."""
    assert compose_models["default"]["services"]


# ----------------------------------------------------------------------------- Dockerfiles


def dockerfile_args(path: Path) -> dict[str, str]:
    """ARG defaults of a Dockerfile (first definition wins)."""
    args: dict[str, str] = {}
    for match in re.finditer(r"^ARG (\w+)=(\S+)$", path.read_text(), re.MULTILINE):
        args.setdefault(match.group(1), match.group(2))
    return args


def base_image(path: Path) -> str:
    """The FROM image of a Dockerfile with its ARG defaults substituted."""
    (line,) = re.findall(r"^FROM (\S+)", path.read_text(), re.MULTILINE)
    args = dockerfile_args(path)
    return re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], line)


def test_base_images_are_pinned_official_ray_python311_tags() -> None:
    cpu = RAY_IMAGE_TAG.match(base_image(DOCKERFILES["cpu"]))
    cuda = RAY_IMAGE_TAG.match(base_image(DOCKERFILES["cuda"]))
    assert cpu and cpu.group(2) == "cpu", base_image(DOCKERFILES["cpu"])
    assert cuda and cuda.group(2).startswith("cu12"), base_image(DOCKERFILES["cuda"])
    # Every node of a cluster runs the same Ray: the CPU head and a GPU worker included.
    assert cpu.group(1) == cuda.group(1) == dockerfile_args(DOCKERFILES["cpu"])["RAY_VERSION"]


def test_torch_comes_from_the_matching_pytorch_index() -> None:
    cpu_args, cuda_args = dockerfile_args(DOCKERFILES["cpu"]), dockerfile_args(DOCKERFILES["cuda"])
    assert cpu_args["TORCH_VERSION"] == cuda_args["TORCH_VERSION"]
    assert cpu_args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    # The CUDA wheel index is the base image's CUDA release (cu129 image -> whl/cu129).
    assert cuda_args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/${CUDA_TAG}"
    assert base_image(DOCKERFILES["cuda"]).endswith("-" + cuda_args["CUDA_TAG"])
    for path in DOCKERFILES.values():
        text = path.read_text()
        assert re.search(r'--index-url "\$\{TORCH_INDEX_URL\}" "torch==\$\{TORCH_VERSION\}"', text)
        # torch before the package, so that pip keeps this build; Ray pinned to the base's.
        assert text.index("torch==") < text.index('"/app"')
        assert '"ray[default,tune]==${RAY_VERSION}"' in text


def test_images_run_as_the_ray_user() -> None:
    for path in DOCKERFILES.values():
        users = re.findall(r"^USER (\S+)", path.read_text(), re.MULTILINE)
        assert users[-1] == "1000:100", f"{path.name}: last USER {users[-1]} (ray is 1000:100)"


# ----------------------------------------------------------------------------- build context


def load_context_module() -> Any:
    spec = importlib.util.spec_from_file_location("docker_context", DOCKER / "context.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ignore_patterns(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_both_images_get_the_same_build_context() -> None:
    cpu, cuda = (DOCKER / f"Dockerfile.{kind}.dockerignore" for kind in ("cpu", "cuda"))
    assert ignore_patterns(cpu) == ignore_patterns(cuda)


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        (".env", True),
        ("docker/.env", True),  # the Ray auth token
        (".venv/bin/python", True),
        (".git/HEAD", True),
        ("runs/quickstart/trials.parquet", True),
        ("test-artifacts/screenshot.png", True),
        ("paretosweep/__pycache__/cli.cpython-311.pyc", True),
        ("paretosweep.egg-info/PKG-INFO", True),
        (".pytest_cache/v/cache/lastfailed", True),
        ("build/lib/paretosweep/__init__.py", True),
        ("pyproject.toml", False),
        ("README.md", False),  # pyproject's readme: the build needs it
        ("paretosweep/__init__.py", False),
        ("dashboards/__init__.py", False),  # installed as paretosweep.dashboard
        ("configs/quickstart.yaml", False),
        ("docker/compose.yaml", False),
    ],
)
def test_build_context_keeps_secrets_and_local_state_out(path: str, excluded: bool) -> None:
    context = load_context_module()
    rules = context.load_patterns(DOCKER / "Dockerfile.cpu.dockerignore")
    assert context.is_excluded(path, rules) is excluded


def test_context_matcher_follows_docker_rules(tmp_path: Path) -> None:
    context = load_context_module()
    ignore = tmp_path / "x.dockerignore"
    ignore.write_text("runs\n**/*.log\ndocs/*\n!docs/keep.md\n")
    rules = context.load_patterns(ignore)
    assert context.is_excluded("runs/a/b", rules)
    assert not context.is_excluded("src/runs/a", rules)  # anchored at the context root
    assert context.is_excluded("a.log", rules) and context.is_excluded("a/b/c.log", rules)
    assert context.is_excluded("docs/x.md", rules) and not context.is_excluded("docs/keep.md", rules)
    ignore.write_text("*.py[cod]\n")
    with pytest.raises(ValueError, match="character class"):
        context.load_patterns(ignore)


# ----------------------------------------------------------------------------- compose

RAY_SERVICES_DEFAULT = {"head", "worker"}
AUTH_SECRET_ENV = "RAY_AUTH_TOKEN"
DASHBOARD_TOKEN_ENV = "PARETOSWEEP_DASHBOARD_TOKEN"


def is_ray_node(service: dict[str, Any]) -> bool:
    return service.get("command", [])[:2] == ["ray", "start"]


def compose_problems(model: dict[str, Any]) -> list[str]:
    """What keeps a resolved compose model from being the paretosweep cluster."""
    problems: list[str] = []
    services = model.get("services", {})
    for name in ("head", "worker", "dashboard"):
        if name not in services:
            problems.append(f"no `{name}` service")
    if problems:
        return problems

    head_cmd = " ".join(services["head"]["command"])
    for flag in ("--head", "--block", "--port=6379", "--dashboard-host=0.0.0.0", "--dashboard-port=8265"):
        if flag not in head_cmd.split():
            problems.append(f"head: `ray start` lacks {flag}")
    if not any(p.get("target") == 8265 for p in services["head"].get("ports", [])):
        problems.append("head: dashboard port 8265 not published")

    ray_nodes = {name for name, svc in services.items() if is_ray_node(svc)}
    if not ray_nodes >= RAY_SERVICES_DEFAULT:
        problems.append(f"Ray nodes are {sorted(ray_nodes)}, expected head and worker")
    for name in ray_nodes - {"head"}:
        cmd = services[name]["command"]
        if "--address=head:6379" not in cmd or "--block" not in cmd:
            problems.append(f"{name}: does not join head:6379 with --block")
        if services[name].get("container_name") or services[name].get("ports"):
            problems.append(f"{name}: a container_name or published port prevents --scale")

    problems += auth_problems(model, ray_nodes)

    for name, svc in services.items():
        mounts = [v for v in svc.get("volumes", []) if v.get("target") == "/runs"]
        if not (mounts and mounts[0].get("type") == "volume" and mounts[0].get("source") == "runs"):
            problems.append(f"{name}: the named volume `runs` is not mounted at /runs")
        build = svc.get("build") or {}
        dockerfile = build.get("dockerfile", "")
        if Path(build.get("context", "")) != ROOT or not (ROOT / dockerfile).is_file():
            problems.append(f"{name}: not built from the repository with a docker/ Dockerfile")
        elif dockerfile not in ("docker/Dockerfile.cpu", "docker/Dockerfile.cuda"):
            problems.append(f"{name}: built from {dockerfile}")
    if "runs" not in model.get("volumes", {}):
        problems.append("no top-level named volume `runs`")

    dash_cmd = services["dashboard"].get("command", [])
    if dash_cmd[:2] != ["paretosweep", "dashboard"] or not (len(dash_cmd) > 2 and dash_cmd[2].startswith("/runs/")):
        problems.append(f"dashboard: command {dash_cmd} does not serve a run under /runs")
    if not {"--host", "0.0.0.0", "--port", "8050"} <= set(dash_cmd):
        problems.append("dashboard: not listening on 0.0.0.0:8050")
    if not any(p.get("target") == 8050 for p in services["dashboard"].get("ports", [])):
        problems.append("dashboard: port 8050 not published")
    if (services["dashboard"].get("environment") or {}).get(DASHBOARD_TOKEN_ENV) != "validate-placeholder":
        problems.append(f"dashboard: {DASHBOARD_TOKEN_ENV} is not taken from the environment (validate.sh sets a placeholder)")
    return problems


def auth_problems(model: dict[str, Any], ray_nodes: set[str]) -> list[str]:
    """Every Ray node: RAY_AUTH_MODE=token and the same token (env or compose secret)."""
    problems, tokens = [], set()
    for name in sorted(ray_nodes):
        svc = model["services"][name]
        env = svc.get("environment") or {}
        if env.get("RAY_AUTH_MODE") != "token":
            problems.append(f"{name}: RAY_AUTH_MODE is {env.get('RAY_AUTH_MODE')!r}, not 'token'")
        if env.get("RAY_AUTH_TOKEN"):
            tokens.add(("env", env["RAY_AUTH_TOKEN"]))
            continue
        path = env.get("RAY_AUTH_TOKEN_PATH", "")
        mounted = {f"/run/secrets/{s.get('target') or s['source']}": s["source"] for s in svc.get("secrets", [])}
        source = mounted.get(path)
        secret = model.get("secrets", {}).get(source or "", {})
        if source is None:
            problems.append(f"{name}: no RAY_AUTH_TOKEN, and RAY_AUTH_TOKEN_PATH={path!r} is no mounted secret")
        elif secret.get("environment") != AUTH_SECRET_ENV:
            problems.append(f"{name}: secret {source} is not filled from ${AUTH_SECRET_ENV}")
        else:
            tokens.add(("secret", source))
    if len(tokens) > 1:
        problems.append(f"the Ray nodes do not share one token: {sorted(tokens)}")
    return problems


def test_compose_cluster(compose_models: dict[str, dict[str, Any]]) -> None:
    assert compose_problems(compose_models["default"]) == []
    assert "worker-gpu" not in compose_models["default"]["services"]


def test_compose_gpu_profile(compose_models: dict[str, dict[str, Any]]) -> None:
    model = compose_models["gpu"]
    assert compose_problems(model) == []
    gpu = model["services"]["worker-gpu"]
    assert is_ray_node(gpu) and gpu["profiles"] == ["gpu"]
    assert gpu["build"]["dockerfile"] == "docker/Dockerfile.cuda"
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert "--num-gpus=1" in gpu["command"]


def mutations() -> dict[str, Any]:
    def drop_auth_mode(m: dict[str, Any]) -> None:
        del m["services"]["worker"]["environment"]["RAY_AUTH_MODE"]

    def drop_token_secret(m: dict[str, Any]) -> None:
        m["services"]["head"]["secrets"] = []

    def other_token_source(m: dict[str, Any]) -> None:
        m["secrets"]["ray_auth_token"]["environment"] = "SOMETHING_ELSE"

    def dashboard_without_runs(m: dict[str, Any]) -> None:
        m["services"]["dashboard"]["volumes"] = []

    def dashboard_without_token(m: dict[str, Any]) -> None:
        del m["services"]["dashboard"]["environment"]

    def worker_not_joining(m: dict[str, Any]) -> None:
        m["services"]["worker"]["command"][2] = "--address=elsewhere:6379"

    def prebuilt_image(m: dict[str, Any]) -> None:
        del m["services"]["worker"]["build"]

    def no_head(m: dict[str, Any]) -> None:
        del m["services"]["head"]

    return {
        f.__name__: f
        for f in (
            drop_auth_mode,
            drop_token_secret,
            other_token_source,
            dashboard_without_runs,
            dashboard_without_token,
            worker_not_joining,
            prebuilt_image,
            no_head,
        )
    }


@pytest.mark.parametrize("mutation", sorted(mutations()))
def test_compose_checks_catch_a_broken_cluster(compose_models: dict[str, dict[str, Any]], mutation: str) -> None:
    model = copy.deepcopy(compose_models["default"])
    mutations()[mutation](model)
    assert compose_problems(model), f"{mutation} went unnoticed"


def test_env_example_documents_every_compose_variable() -> None:
    example = dict(line.split("=", 1) for line in (DOCKER / ".env.example").read_text().splitlines() if line and not line.startswith("#"))
    assert example["RAY_AUTH_TOKEN"] == "", "the example must not ship a usable token"
    assert example[DASHBOARD_TOKEN_ENV] == "", "the example must not ship a usable dashboard token"
    assert f"${{{DASHBOARD_TOKEN_ENV}:?" in (DOCKER / "compose.yaml").read_text(), "compose must require the dashboard token"
    assert "openssl rand -hex 32" in (DOCKER / ".env.example").read_text()
    used = set(re.findall(r"\$\{(\w+)", (DOCKER / "compose.yaml").read_text()))
    assert used <= set(example), f"undocumented in .env.example: {sorted(used - set(example))}"


# ----------------------------------------------------------------------------- KubeRay


def load_manifest(name: str) -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all((KUBERAY / name).read_text()) if d]
    return {d["kind"]: d for d in docs}


def ray_cluster_problems(cluster: dict[str, Any], where: str) -> list[str]:
    """Fields KubeRay's RayClusterSpec requires (ray-operator/apis/ray/v1/raycluster_types.go:
    headGroupSpec{rayStartParams, template}; workerGroupSpecs[]{groupName, minReplicas,
    maxReplicas, rayStartParams, template}; containers[0] is the Ray container), plus what
    paretosweep needs: token auth from one Secret on every Ray container and /runs on a PVC."""
    problems: list[str] = []
    head = cluster.get("headGroupSpec")
    if not isinstance(head, dict):
        return [f"{where}: no headGroupSpec"]
    workers = cluster.get("workerGroupSpecs", [])
    groups = [("head", head)] + [(f"worker group {g.get('groupName')!r}", g) for g in workers]
    if len(groups) < 2:
        problems.append(f"{where}: no workerGroupSpecs")
    names = [g.get("groupName") for _, g in groups[1:]]
    if len(set(names)) != len(names):
        problems.append(f"{where}: worker groupNames are not unique: {names}")
    for label, group in groups:
        required = ["rayStartParams", "template"]
        if label != "head":
            required += ["groupName", "minReplicas", "maxReplicas"]
        problems += [f"{where} {label}: missing {key}" for key in required if key not in group]
        bounded = label != "head" and all(k in group for k in ("minReplicas", "maxReplicas"))
        if bounded and not group["minReplicas"] <= group.get("replicas", group["minReplicas"]) <= group["maxReplicas"]:
            problems.append(f"{where} {label}: replicas outside [minReplicas, maxReplicas]")
        pod = (group.get("template") or {}).get("spec") or {}
        problems += pod_problems(pod, f"{where} {label}")
    auth = cluster.get("authOptions") or {}
    if auth.get("mode") != "token" or not auth.get("secretName"):
        problems.append(f"{where}: authOptions is not {{mode: token, secretName: ...}}")
    return problems


def pod_problems(pod: dict[str, Any], where: str, *, needs_runs: bool = True) -> list[str]:
    problems: list[str] = []
    containers = pod.get("containers") or []
    if not containers or not containers[0].get("name") or not containers[0].get("image"):
        return [f"{where}: containers[0] needs a name and an image"]
    ray = containers[0]
    env = {e["name"]: e for e in ray.get("env", [])}
    if env.get("RAY_AUTH_MODE", {}).get("value") != "token":
        problems.append(f"{where}: RAY_AUTH_MODE is not token")
    ref = env.get("RAY_AUTH_TOKEN", {}).get("valueFrom", {}).get("secretKeyRef", {})
    if ref.get("key") != SECRET_KEY or not ref.get("name"):
        problems.append(f"{where}: RAY_AUTH_TOKEN does not come from a Secret's {SECRET_KEY}")
    if needs_runs:
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        runs = [m for m in ray.get("volumeMounts", []) if m.get("mountPath") == "/runs"]
        claim = volumes.get(runs[0]["name"], {}).get("persistentVolumeClaim") if runs else None
        if not claim or not claim.get("claimName"):
            problems.append(f"{where}: /runs is not a PersistentVolumeClaim")
    return problems


def secret_names(obj: Any) -> set[str]:
    """Names of every Secret referenced for RAY_AUTH_TOKEN or by authOptions."""
    found: set[str] = set()
    if isinstance(obj, dict):
        if obj.get("name") == "RAY_AUTH_TOKEN" and "valueFrom" in obj:
            found.add(obj["valueFrom"]["secretKeyRef"]["name"])
        if "secretName" in obj and obj.get("mode") == "token":
            found.add(obj["secretName"])
        for value in obj.values():
            found |= secret_names(value)
    elif isinstance(obj, list):
        for value in obj:
            found |= secret_names(value)
    return found


def claim_names(obj: Any) -> set[str]:
    if isinstance(obj, dict):
        own = {obj["claimName"]} if "claimName" in obj else set()
        return own.union(*(claim_names(v) for v in obj.values()))
    if isinstance(obj, list):
        return set().union(*(claim_names(v) for v in obj))
    return set()


def test_manifests_parse_as_the_expected_kinds() -> None:
    cluster, job = load_manifest("raycluster.yaml"), load_manifest("rayjob.yaml")
    assert set(cluster) == {"PersistentVolumeClaim", "RayCluster"}
    assert set(job) == {"PersistentVolumeClaim", "RayJob"}
    for doc in (cluster["RayCluster"], job["RayJob"]):
        assert doc["apiVersion"] == "ray.io/v1" and doc["metadata"]["name"]


def test_raycluster() -> None:
    docs = load_manifest("raycluster.yaml")
    assert ray_cluster_problems(docs["RayCluster"]["spec"], "RayCluster") == []


def test_rayjob() -> None:
    docs = load_manifest("rayjob.yaml")
    spec = docs["RayJob"]["spec"]
    assert ray_cluster_problems(spec["rayClusterSpec"], "RayJob.rayClusterSpec") == []
    entry = spec["entrypoint"].split()
    assert entry[:2] == ["paretosweep", "run"] and entry[2].startswith("/configs/")
    assert entry[3:] == ["--address", "auto"]
    head = spec["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    configs = [m for m in head["containers"][0]["volumeMounts"] if m["mountPath"] == "/configs"]
    volumes = {v["name"]: v for v in head["volumes"]}
    assert configs and "configMap" in volumes[configs[0]["name"]], "the head needs the spec at /configs"
    # The submitter runs `ray job submit` against the authenticated dashboard; a Kubernetes
    # Job's pod must have restartPolicy Never or OnFailure.
    submitter = spec["submitterPodTemplate"]["spec"]
    assert submitter["restartPolicy"] == "Never"
    assert pod_problems(submitter, "submitter", needs_runs=False) == []
    assert spec.get("submissionMode", "K8sJobMode") == "K8sJobMode"


@pytest.mark.parametrize("name", ["raycluster.yaml", "rayjob.yaml"])
def test_manifests_share_one_secret_one_claim_and_the_images(name: str) -> None:
    docs = load_manifest(name)
    pvc = docs["PersistentVolumeClaim"]
    assert "ReadWriteMany" in pvc["spec"]["accessModes"], "every Ray pod mounts /runs"
    ray_doc = docs.get("RayCluster") or docs["RayJob"]
    assert claim_names(ray_doc) == {pvc["metadata"]["name"]}
    assert len(secret_names(ray_doc)) == 1
    cluster = ray_doc["spec"] if ray_doc["kind"] == "RayCluster" else ray_doc["spec"]["rayClusterSpec"]
    assert cluster["rayVersion"] == dockerfile_args(DOCKERFILES["cpu"])["RAY_VERSION"]
    images = set(re.findall(r"^\s*image: (\S+)$", (KUBERAY / name).read_text(), re.MULTILINE))
    assert images <= {"paretosweep:cpu", "paretosweep:cuda"}, images
    assert not re.search(r"name: RAY_AUTH_TOKEN\s+value:", (KUBERAY / name).read_text()), "no literal token"


def test_both_pvcs_are_the_same_claim() -> None:
    a, b = (load_manifest(n)["PersistentVolumeClaim"] for n in ("raycluster.yaml", "rayjob.yaml"))
    assert a == b, "kubectl apply of both files must not fight over the claim"


@pytest.mark.parametrize(
    "mutation",
    [
        "worker without token",
        "head without auth mode",
        "no rayStartParams",
        "no groupName",
        "runs on emptyDir",
        "no authOptions",
        "no head",
    ],
)
def test_kuberay_checks_catch_a_broken_manifest(mutation: str) -> None:
    spec = copy.deepcopy(load_manifest("raycluster.yaml")["RayCluster"]["spec"])
    head = spec["headGroupSpec"]
    worker = spec["workerGroupSpecs"][0]
    if mutation == "worker without token":
        worker["template"]["spec"]["containers"][0]["env"] = [{"name": "RAY_AUTH_MODE", "value": "token"}]
    elif mutation == "head without auth mode":
        head["template"]["spec"]["containers"][0]["env"].pop(0)
    elif mutation == "no rayStartParams":
        del head["rayStartParams"]
    elif mutation == "no groupName":
        del worker["groupName"]
    elif mutation == "runs on emptyDir":
        worker["template"]["spec"]["volumes"] = [{"name": "runs", "emptyDir": {}}]
    elif mutation == "no authOptions":
        del spec["authOptions"]
    elif mutation == "no head":
        del spec["headGroupSpec"]
    assert ray_cluster_problems(spec, "RayCluster"), f"{mutation} went unnoticed"
