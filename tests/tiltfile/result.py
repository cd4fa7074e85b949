"""Tilt's own account of an evaluated Tiltfile (`tilt alpha tiltfile-result` JSON), as small dataclasses.

Only what the layer asserts on is kept. Tilt's JSON also carries the Secrets the Tiltfile deployed (a `Secrets`
key, and the Secret objects in the YAML): neither is kept here, and Secret objects lose their data when parsed,
so no assertion message can print a secret value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Kinds Tilt treats as workloads: each becomes its own resource unless k8s_resource(objects=...) groups it.
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"})
# model.TriggerMode (pkg/model/trigger_mode.go): Auto, ManualWithAutoInit, Manual, AutoWithManualInit.
TRIGGER_MODE_AUTO = 0
TRIGGER_MODE_MANUAL = 2  # trigger_mode=TRIGGER_MODE_MANUAL, auto_init=False: runs only when pressed


@dataclass(frozen=True)
class Sync:
    local_path: str  # relative to LiveUpdate.base_path, as Tilt prints it
    container_path: str


@dataclass(frozen=True)
class Exec:
    args: list[str]
    trigger_paths: list[str]  # relative to LiveUpdate.base_path


@dataclass(frozen=True)
class LiveUpdate:
    base_path: Path
    stop_paths: list[str]  # fall_back_on(), relative to base_path
    syncs: list[Sync]
    execs: list[Exec]


@dataclass(frozen=True)
class IgnoreDef:
    """One filter of the build context: `patterns` relative to `base_path`; no patterns: all of base_path."""

    base_path: Path
    patterns: list[str]

    @property
    def is_only(self) -> bool:
        """docker_build(only=[...]) becomes ["**", "!a", "!b"] (tiltfile/docker.go onlysToDockerignorePatterns)."""
        return len(self.patterns) > 1 and self.patterns[0] == "**" and all(p.startswith("!") for p in self.patterns[1:])

    @property
    def is_dockerignore(self) -> bool:
        """Whether these are the patterns of base_path/.dockerignore (Tilt copies them in as they are)."""
        ignore_file = self.base_path / ".dockerignore"
        return ignore_file.is_file() and dockerignore_patterns(ignore_file.read_text(encoding="utf-8")) == self.patterns


@dataclass(frozen=True)
class ImageTarget:
    ref: str  # docker_build's ref (Tilt's "selector")
    context: Path
    dockerfile: str = field(repr=False)  # the contents, as Tilt read them
    target: str
    build_args: dict[str, str]
    ignores: list[IgnoreDef]
    live_update: LiveUpdate | None

    @property
    def only(self) -> list[str]:
        """docker_build's only= (relative to the context); [] when the whole context is sent."""
        return [p[1:] for d in self.ignores if d.is_only for p in d.patterns[1:]]


@dataclass(frozen=True)
class Manifest:
    """One Tilt resource: a k8s workload (or grouped objects), or a local_resource (cmd is set)."""

    name: str
    labels: list[str]
    deps: list[str]
    trigger_mode: int
    images: list[ImageTarget]
    k8s_yaml: str = field(default="", repr=False)
    links: list[str] = field(default_factory=list)
    port_forwards: list[tuple[int, int]] = field(default_factory=list)  # (local, container)
    cmd: list[str] | None = None  # a local_resource's argv (a string cmd is ["sh", "-c", cmd])

    @property
    def is_local(self) -> bool:
        return self.cmd is not None

    def objects(self) -> list[dict[str, Any]]:
        """The Kubernetes objects this resource applies, Secret data removed."""
        return [_redacted(doc) for doc in yaml.safe_load_all(self.k8s_yaml) if doc]


@dataclass(frozen=True)
class TiltResult:
    root: Path  # the Tiltfile's directory
    context: str  # the kube context it was evaluated on
    manifests: dict[str, Manifest]
    enabled: list[str]  # EnabledManifests: what `tilt up` starts
    check_updates: bool
    log: str = field(repr=False)  # Tilt's log of the evaluation (`-v`): the Tiltfile's print()s, Tilt's warnings

    def objects(self) -> list[dict[str, Any]]:
        return [obj for m in self.manifests.values() for obj in m.objects()]

    def workloads(self) -> dict[str, dict[str, Any]]:
        """Workload name -> object, from the YAML the resources deploy."""
        return {o["metadata"]["name"]: o for o in self.objects() if o.get("kind") in WORKLOAD_KINDS}

    def images(self) -> dict[str, ImageTarget]:
        """docker_build ref -> its image target (Tilt repeats a shared image in every resource that uses it)."""
        return {t.ref: t for m in self.manifests.values() for t in m.images}


def dockerignore_patterns(text: str) -> list[str]:
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def container_images(workload: dict[str, Any]) -> list[str]:
    """Image names (without tag) of a workload's containers and init containers."""
    spec = workload.get("spec", {})
    spec = spec.get("template", {}).get("spec", spec)
    return [c["image"].rsplit(":", 1)[0] for c in spec.get("initContainers", []) + spec.get("containers", [])]


def _redacted(obj: dict[str, Any]) -> dict[str, Any]:
    if obj.get("kind") != "Secret":
        return obj
    return {k: v for k, v in obj.items() if k not in ("data", "stringData")}


def _image_target(raw: dict[str, Any]) -> ImageTarget:
    details = raw.get("BuildDetails") or {}
    spec = raw.get("LiveUpdateSpec") or {}
    live_update = None
    if spec.get("syncs") or spec.get("execs") or spec.get("stopPaths"):  # no live_update: an empty spec
        live_update = LiveUpdate(
            base_path=Path(spec["basePath"]),
            stop_paths=spec.get("stopPaths") or [],
            syncs=[Sync(s["localPath"], s["containerPath"]) for s in spec.get("syncs") or []],
            execs=[Exec(e["args"], e.get("triggerPaths") or []) for e in spec.get("execs") or []],
        )
    args = dict(arg.split("=", 1) for arg in details.get("args") or [])
    ignores = [IgnoreDef(Path(d["basePath"]), d.get("patterns") or []) for d in details.get("contextIgnores") or []]
    return ImageTarget(ref=raw["selector"], context=Path(details.get("context", "")),
                       dockerfile=details.get("dockerfileContents", ""), target=details.get("target", ""),
                       build_args=args, ignores=ignores, live_update=live_update)


def _url(link: dict[str, Any]) -> str:
    url = link["URL"]
    return f"{url['Scheme']}://{url['Host']}{url['Path']}" + (f"?{url['RawQuery']}" if url.get("RawQuery") else "")


def _manifest(raw: dict[str, Any]) -> Manifest:
    deploy = raw.get("DeployTarget") or {}
    forwards = (deploy.get("portForwardTemplateSpec") or {}).get("forwards") or []
    cmd = (deploy["UpdateCmdSpec"].get("args") or []) if "UpdateCmdSpec" in deploy else None
    return Manifest(
        name=raw["Name"],
        labels=sorted(raw.get("Labels") or {}),
        deps=raw.get("ResourceDependencies") or [],
        trigger_mode=raw.get("TriggerMode", TRIGGER_MODE_AUTO),
        images=[_image_target(t) for t in raw.get("ImageTargets") or []],
        k8s_yaml=deploy.get("yaml", ""),
        links=[_url(link) for link in deploy.get("Links") or []],
        port_forwards=[(f["localPort"], f.get("containerPort", 0)) for f in forwards],
        cmd=cmd,
    )


def parse(data: dict[str, Any], *, root: Path, context: str, log: str = "") -> TiltResult:
    """The TiltResult of one `tilt alpha tiltfile-result` JSON document."""
    manifests = [_manifest(m) for m in data.get("Manifests") or []]
    return TiltResult(root=root, context=context, manifests={m.name: m for m in manifests},
                      enabled=list(data.get("EnabledManifests") or []),
                      check_updates=bool((data.get("VersionSettings") or {}).get("CheckUpdates", True)), log=log)
