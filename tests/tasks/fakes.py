"""Fakes of the tasks layer: a throw-away kubeconfig, a recording fake kubectl, fake tools, the inv CLI.

Rendering (`kubectl kustomize`) and kubeconfig edits (`kubectl config ...`) go to the real kubectl; only calls
that would reach a cluster are answered by the fake. Nothing here reads or writes ~/.kube/config.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.fixtures.require import unavailable

REPO = Path(__file__).resolve().parents[2]
LOCAL = "docker-desktop"
REMOTE = "prod-eks"
MINIKUBE_PROFILE = "dev-mk"  # a minikube profile: recognised by its kubeconfig extension, not its name

KUBECONFIG = f"""
apiVersion: v1
kind: Config
current-context: {LOCAL}
clusters:
- name: local
  cluster: {{server: "https://127.0.0.1:6443"}}
- name: eks
  cluster: {{server: "https://ABC.gr7.eu-west-1.eks.amazonaws.com"}}
contexts:
- name: {LOCAL}
  context: {{cluster: local, user: me}}
- name: kind-dev
  context: {{cluster: local, user: me}}
- name: {REMOTE}
  context: {{cluster: eks, user: me}}
- name: {MINIKUBE_PROFILE}
  context:
    cluster: local
    user: me
    extensions:
    - name: context_info
      extension: {{provider: minikube.sigs.k8s.io, version: v1.34.0}}
users:
- name: me
  user: {{token: not-a-real-token}}
"""

FAKE_KUBECTL = r"""#!{python}
# Fake kubectl: records argv and stdin (JSON lines), answers cluster calls from a response table,
# hands rendering and kubeconfig commands to the real kubectl.
import json, os, sys

argv = sys.argv[1:]
args = list(argv)
context = None
if "--context" in args:
    i = args.index("--context")
    context = args[i + 1] if i + 1 < len(args) else None
    del args[i:i + 2]
reads_stdin = ("-f" in args and args[args.index("-f") + 1:args.index("-f") + 2] == ["-"]) or (
    args[:1] == ["exec"] and "-i" in args)
stdin = sys.stdin.buffer.read().decode("utf-8") if reads_stdin else None
with open(os.environ["FAKE_KUBECTL_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps({{"argv": argv, "args": args, "context": context, "stdin": stdin}}) + "\n")
if args[:1] in (["kustomize"], ["config"], ["version"]):
    real = os.environ["REAL_KUBECTL"]
    os.execv(real, [real, *argv])
table = {{}}
path = os.environ.get("FAKE_KUBECTL_RESPONSES", "")
if path and os.path.exists(path):
    with open(path, encoding="utf-8") as handle:
        table = json.load(handle)
joined = " ".join(args)
match = max((key for key in table if joined == key or joined.startswith(key + " ")), key=len, default=None)
if match is not None:
    answer = table[match]
    sys.stdout.write(answer.get("stdout", ""))
    sys.stderr.write(answer.get("stderr", ""))
    sys.exit(answer.get("rc", 0))
if args[:1] == ["apply"]:
    print("applied")
sys.exit(0)
"""


@dataclass
class Call:
    argv: list[str]
    args: list[str]  # argv without the --context pair
    context: str | None
    stdin: str | None

    def docs(self) -> list[dict[str, Any]]:
        return [d for d in yaml.safe_load_all(self.stdin or "") if d]


@dataclass
class FakeKubectl:
    bin_dir: Path
    log: Path
    responses: Path

    def respond(self, args: str, stdout: str = "", rc: int = 0, stderr: str = "") -> None:
        """Answer calls whose arguments (without --context) start with ``args``."""
        table = json.loads(self.responses.read_text()) if self.responses.exists() else {}
        table[args] = {"stdout": stdout, "rc": rc, "stderr": stderr}
        self.responses.write_text(json.dumps(table))

    def calls(self) -> list[Call]:
        if not self.log.exists():
            return []
        return [Call(**json.loads(line)) for line in self.log.read_text().splitlines()]

    def cluster_calls(self) -> list[Call]:
        """Calls that would reach a cluster (not rendering, not kubeconfig edits)."""
        return [c for c in self.calls() if c.args[:1] not in (["kustomize"], ["config"], ["version"])]


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    unavailable(f"{name} not found on PATH; the tasks layer needs the real {name} for rendering")


def write_script(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def recording_tool(fake_bin: Path, name: str, stdout: str = "", rc: int = 0) -> Path:
    """A fake ``name`` on PATH (put there by fake_bin users) that appends its argv to ``<name>-calls.jsonl``."""
    log = fake_bin.parent / f"{name}-calls.jsonl"
    write_script(fake_bin, name, f"""#!{sys.executable}
import json, sys
with open({str(log)!r}, "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
sys.stdout.write({stdout!r})
sys.exit({rc})
""")
    return log


def recorded(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def run_inv(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real CLI (`inv ARGS` in the repo root) with this environment."""
    return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=REPO, env=env or dict(os.environ),
                          capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip


def assert_context_everywhere(calls: list[Call], context: str) -> None:
    assert calls, "no kubectl call was made"
    for call in calls:
        assert call.argv[:2] == ["--context", context], f"kubectl call without --context {context}: {call.argv}"
