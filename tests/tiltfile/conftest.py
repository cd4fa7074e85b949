"""Fixtures of the tiltfile layer: the real Tilt, a kubeconfig with every context the tests name (pointing at
no cluster: `tilt alpha tiltfile-result` needs none), and a scratch checkout for the Tiltfile's side effects."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest
import yaml

from tests.fixtures.require import unavailable

from .checks import LocalContexts
from .result import TiltResult, parse

REPO_ROOT = Path(__file__).resolve().parents[2]
TILTFILE = REPO_ROOT / "Tiltfile"
LOCAL = LocalContexts.load(REPO_ROOT / "dev/local-contexts.yaml")
# Stated here, not read from the file: an emptied or shrunken dev/local-contexts.yaml must fail the layer.
EXPECTED_LOCAL = ("docker-desktop", "kind-nta", "nta-local")
REMOTE_CONTEXTS = ("gke_acme_us-east1_prod", "arn:aws:eks:us-east-1:1:cluster/nta", "default")
EXTRA_CONTEXT = "lab-vm"  # admitted only through NTA_LOCAL_CONTEXTS
# Every local context the file admits: its names, and one cluster per prefix (kind-nta, k3d-nta, colima-nta).
LOCAL_CONTEXTS = tuple(dict.fromkeys([*LOCAL.names, *(p + "nta" for p in LOCAL.prefixes), *EXPECTED_LOCAL]))
# The offline base image the Python images build FROM: set for most runs, so the Tiltfile does not ask docker.
OFFLINE_BASE = "nta-base:bookworm"
# Variables of the developer's shell that would change what the Tiltfile does: each test sets what it needs.
SCRUBBED_ENV = ("NTA_LOCAL_CONTEXTS", "NTA_BASE_IMAGE", "NTA_PYTHON", "VIRTUAL_ENV", "KUBECONFIG")
# Tilt runs `kustomize build [FLAGS] DIR` in the Tiltfile's folder; a failed render is not cached.
KUSTOMIZE = """#!/bin/sh
[ "$1" = build ] || {{ echo "kustomize (test cache): only 'build' is supported" >&2; exit 2; }}
shift
cache={cache}/$(printf '%s\\n' "$PWD" "$@" | cksum | cut -d' ' -f1).yaml
if [ ! -s "$cache" ]; then
  {kubectl} kustomize "$@" > "$cache.$$" || {{ rm -f "$cache.$$"; exit 1; }}
  mv "$cache.$$" "$cache"
fi
exec cat "$cache"
"""


class TiltfileError(Exception):
    """Tilt refused the Tiltfile (`tilt alpha tiltfile-result` exit 5); the message is Tilt's stderr."""

    def __init__(self, stderr: str, stdout: str) -> None:
        super().__init__(stderr)
        self.stderr = stderr
        self.stdout = stdout


RunTilt = Callable[..., TiltResult]


@pytest.fixture(scope="session")
def tilt() -> str:
    from nta_dev.tools import find

    path = find("tilt")
    if path is None:
        unavailable("tilt is missing (PATH, TILT=/path/to/tilt, or the toolkit's cache); fix: `./inv tools` builds it")
    return path


@pytest.fixture(scope="session")
def kustomize(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with `kustomize` for Tilt's kustomize(): `kubectl kustomize`, run once per overlay and cached.

    Without a kustomize on PATH Tilt runs `kubectl kustomize` itself, which takes half of each evaluation. The
    rendering stays kubectl's; the cache holds for the session because k8s/ is the scratch copy nobody edits.
    """
    kubectl = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not kubectl:
        unavailable("kubectl is missing: install kubectl >= 1.27 (it bundles kustomize) and put it on PATH")
    folder = tmp_path_factory.mktemp("kustomize")
    (folder / "cache").mkdir()
    script = folder / "bin" / "kustomize"
    script.parent.mkdir()
    script.write_text(KUSTOMIZE.format(kubectl=shlex.quote(kubectl), cache=shlex.quote(str(folder / "cache"))),
                      encoding="utf-8")
    script.chmod(0o755)
    return script.parent


@pytest.fixture(scope="session")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every context the tests use, each on a cluster entry (else Tilt sees context "") at a dead address."""
    names = [*LOCAL_CONTEXTS, EXTRA_CONTEXT, *REMOTE_CONTEXTS]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "nowhere", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "nobody", "user": {}}],
        "contexts": [{"name": name, "context": {"cluster": "nowhere", "user": "nobody"}} for name in names],
        "current-context": "docker-desktop",
    }
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def host_env(kustomize: Path) -> dict[str, str]:
    """The environment of a developer shell without our venv (the Tiltfile's local() must not need it), with the
    cached kustomize first on PATH."""
    venv_bin = str(Path(sys.prefix, "bin"))
    path = [str(kustomize), *(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != venv_bin)]
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    return {**env, "PATH": os.pathsep.join(path)}


@pytest.fixture(scope="session")
def scratch_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout, symlinked, except k8s/ which is copied without secrets.env: the Tiltfile writes there.

    Left out: the Tiltfile (each run writes the text it evaluates), tilt_config.json (a developer's saved
    `tilt args` would change config.parse()), and .git/.venv (large, unused).
    """
    root = tmp_path_factory.mktemp("tilt") / "repo"
    root.mkdir()
    for entry in REPO_ROOT.iterdir():
        if entry.name not in {"k8s", ".git", ".venv", "Tiltfile", "tilt_config.json"}:
            (root / entry.name).symlink_to(entry)
    shutil.copytree(REPO_ROOT / "k8s", root / "k8s", ignore=shutil.ignore_patterns("secrets.env"))
    return root


def _evaluate(tilt: str, tiltfile: Path, context: str, args: Sequence[str], env: Mapping[str, str]) -> TiltResult:
    argv = [tilt, "alpha", "tiltfile-result", "--verbose", "--file", str(tiltfile), "--context", context]
    proc = subprocess.run([*argv, *(["--", *args] if args else [])], cwd=tiltfile.parent, env=dict(env),
                          capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode == 5:
        raise TiltfileError(proc.stderr, proc.stdout)
    if proc.returncode != 0:
        pytest.fail(f"`tilt alpha tiltfile-result` failed to run (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return parse(json.loads(proc.stdout), root=tiltfile.parent, context=context, log=proc.stderr)


@pytest.fixture(scope="session")
def run_tilt(tilt: str, kubeconfig: Path, scratch_root: Path, host_env: dict[str, str]) -> RunTilt:
    """run_tilt(text=None, context=..., args=[...], env={...}): the repo's Tiltfile (or text) evaluated by Tilt.

    Returns Tilt's result or raises TiltfileError. Results are cached per (text, context, args, env): the tests
    assert many things about a few evaluations, each of which takes about a second.
    """
    cache: dict[tuple, TiltResult | TiltfileError] = {}

    def run(text: str | None = None, *, context: str = "docker-desktop", args: Sequence[str] = (),
            env: Mapping[str, str] | None = None) -> TiltResult:
        source = TILTFILE.read_text(encoding="utf-8") if text is None else text
        extra = {"NTA_BASE_IMAGE": OFFLINE_BASE, **(env or {})}
        key = (source, context, tuple(args), tuple(sorted(extra.items())))
        if key not in cache:
            tiltfile = scratch_root / f"Tiltfile.{hashlib.sha256(source.encode()).hexdigest()[:12]}"
            tiltfile.write_text(source, encoding="utf-8")
            try:
                cache[key] = _evaluate(tilt, tiltfile, context, args, {**host_env, "KUBECONFIG": str(kubeconfig),
                                                                      **extra})
            except TiltfileError as exc:
                cache[key] = exc
        outcome = cache[key]
        if isinstance(outcome, TiltfileError):
            raise outcome
        return outcome

    return run


@pytest.fixture(scope="session")
def result(run_tilt: RunTilt) -> TiltResult:
    """The real Tiltfile on docker-desktop, no subset."""
    return run_tilt()
