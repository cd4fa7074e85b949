"""The stack's container images: one table (Dockerfile, context, targets, tags) and a builder on the docker SDK.

    python -m nta_dev.images.build [--target dev|prod|all] [--base-image IMAGE] [NAME ...]

Used by tests/images, benchmarks/bench_images.py and the invoke tasks. Tags follow the overlays: target `dev` ->
`nta-<svc>:dev` (k8s/overlays/dev), target `prod` -> `nta-<svc>:prod` (k8s/overlays/aws). Without --base-image the
images build FROM the offline base `nta-base:bookworm` (built first if missing, see nta_dev.images.base); pass
`--base-image python:3.11.13-slim-bookworm` (the Dockerfiles' default) where a registry is reachable.

The SDK drives Docker's classic builder, so the Dockerfiles avoid BuildKit-only syntax (RUN --mount, heredocs).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ToolkitError, entry_point
from .base import DEFAULT_TAG as LOCAL_BASE
from .base import docker_client, ensure_base_image

REPO = Path(__file__).resolve().parents[3]
TARGETS = ("dev", "prod")


@dataclass(frozen=True)
class ImageSpec:
    name: str
    dockerfile: str  # relative to the repository root
    context: str = "."  # relative to the repository root
    targets: tuple[str | None, ...] = TARGETS  # None: a single-stage Dockerfile

    def tag(self, target: str | None) -> str:
        return f"{self.name}:{target or 'dev'}"


# The four images of the stack (docs/architecture.md#images), in the order a stack starts.
IMAGES: dict[str, ImageSpec] = {
    spec.name: spec
    for spec in (
        ImageSpec("nta-flask", "services/flask/Dockerfile"),
        ImageSpec("nta-django", "services/django/Dockerfile"),
        ImageSpec("nta-dask", "services/dask/Dockerfile"),
        ImageSpec("nta-nginx", "services/nginx/Dockerfile"),
    )
}
# Test/local-cluster only: the MongoDB wire-protocol stand-in (the manifests deploy the official MongoDB image).
MONGO_STANDIN = ImageSpec("nta-mongo-standin", "dev/mongo-standin/Dockerfile", "dev/mongo-standin", (None,))
# Service sources per image: a change under these (outside pyproject.toml) must not invalidate the deps layer.
SOURCES: dict[str, tuple[str, ...]] = {
    "nta-flask": ("services/flask/src", "services/pipeline/src"),
    "nta-django": ("services/django/src", "services/pipeline/src"),
    "nta-dask": ("services/pipeline/src",),
    "nta-nginx": ("services/nginx", "services/django/src/nta_web/static"),
}

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


class ImageBuildError(ToolkitError):
    """A docker build failed; the message carries the failing step and the tail of its output."""


@dataclass
class BuildResult:
    tag: str
    image_id: str
    seconds: float
    log: list[str] = field(default_factory=list)
    # Dockerfile instruction -> True when the classic builder reused its cached layer ("Using cache").
    steps: list[tuple[str, bool]] = field(default_factory=list)

    def cached(self, instruction_prefix: str) -> list[bool]:
        """Cache hits of the steps whose instruction starts with `instruction_prefix` (e.g. "RUN python3 -c")."""
        return [hit for step, hit in self.steps if step.startswith(instruction_prefix)]


def build_inputs() -> list[str]:
    """What the images' build context holds: the repository-relative paths .dockerignore lets through."""
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line[1:].strip() for line in lines if line.startswith("!")]


def copy_build_inputs(dest: Path) -> Path:
    """A copy of the build context in `dest` (tests and benchmarks edit it, never the checkout)."""
    shutil.copy2(REPO / ".dockerignore", dest / ".dockerignore")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for rel in build_inputs():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        if (REPO / rel).is_dir():
            shutil.copytree(REPO / rel, dest / rel, ignore=ignore)
        else:
            shutil.copy2(REPO / rel, dest / rel)
    for dockerfile in REPO.glob("services/*/Dockerfile"):  # the context never holds them; the builds read them
        (dest / dockerfile.relative_to(REPO)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dockerfile, dest / dockerfile.relative_to(REPO))
    return dest


def build(
    spec: ImageSpec,
    target: str | None,
    *,
    base_image: str = LOCAL_BASE,
    tag: str | None = None,
    nocache: bool = False,
    client=None,
    log: Callable[[str], None] | None = None,
    root: Path = REPO,
) -> BuildResult:
    """Build one image target; `log` receives each output line as it arrives. `root`: a copy of the repository
    to build from instead of this checkout (tests change files in a copy)."""
    client = client or docker_client()
    tag = tag or spec.tag(target)
    started = time.monotonic()
    lines: list[str] = []
    steps: list[tuple[str, bool]] = []
    error = ""
    stream = client.api.build(
        path=str(root / spec.context),
        dockerfile=str(root / spec.dockerfile),
        target=target,
        tag=tag,
        buildargs={"BASE_IMAGE": base_image},
        rm=True,
        forcerm=True,
        pull=False,
        nocache=nocache,
        decode=True,
    )
    for chunk in stream:
        if "error" in chunk:
            error = chunk.get("error", "").strip()
        text = chunk.get("stream", "")
        for line in text.splitlines():
            if not line.strip():
                continue
            lines.append(line)
            if log:
                log(line)
            match = _STEP.match(line)
            if match:
                steps.append((match.group(3), False))
            elif line.strip() == "---> Using cache" and steps:
                steps[-1] = (steps[-1][0], True)
    if error:
        step = next((s for s, _ in reversed(steps)), "?")
        tail = "\n".join(lines[-25:])
        raise ImageBuildError(f"building {tag} from {spec.dockerfile} failed at `{step[:120]}`: {error}\n{tail}")
    image = client.images.get(tag)
    return BuildResult(tag, image.id, time.monotonic() - started, lines, steps)


def build_many(
    names: Iterable[str] = IMAGES,
    targets: Iterable[str | None] = TARGETS,
    *,
    base_image: str | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, BuildResult]:
    """Build every (image, target); the local base image is made first when it is the one used."""
    base_image = base_image or os.environ.get("NTA_BASE_IMAGE") or LOCAL_BASE
    if base_image == LOCAL_BASE:
        ensure_base_image(LOCAL_BASE, log=log or print)
    client = docker_client()
    results = {}
    for name in names:
        spec = MONGO_STANDIN if name == MONGO_STANDIN.name else IMAGES.get(name)
        if spec is None:
            raise ToolkitError(f"unknown image {name!r}; choose from {', '.join([*IMAGES, MONGO_STANDIN.name])}")
        for target in targets if spec.targets != (None,) else (None,):
            result = build(spec, target, base_image=base_image, client=client, log=log)
            results[result.tag] = result
    return results


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nta_dev.images.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"images (default: all of {', '.join(IMAGES)})")
    parser.add_argument("--target", choices=(*TARGETS, "all"), default="dev", help="Dockerfile target (default dev)")
    parser.add_argument("--base-image", default=None, help=f"BASE_IMAGE build arg (default {LOCAL_BASE}, built "
                        "when missing; env NTA_BASE_IMAGE)")  # fmt: skip
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the summary")
    args = parser.parse_args(argv)
    targets = TARGETS if args.target == "all" else (args.target,)
    results = build_many(args.names or IMAGES, targets, base_image=args.base_image, log=None if args.quiet else print)
    for tag, result in results.items():
        print(f"{tag:28} {result.seconds:6.1f} s  {result.image_id[7:19]}")


if __name__ == "__main__":
    sys.exit(main())
