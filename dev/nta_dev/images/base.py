"""Build the offline base image `nta-base:bookworm` for machines that reach no container registry.

    python -m nta_dev.images.base [--tag nta-base:bookworm] [--force] [--fresh]

The service Dockerfiles take `ARG BASE_IMAGE` (default: the pinned official python slim image) and need only
`python3` with venv from it. Where no registry is reachable, this module makes a stand-in:

1. `debootstrap --variant=minbase bookworm` (python3, python3-venv, ca-certificates) from the Debian mirror this
   machine's apt sources already use; the rootfs is cached as a tarball under ~/.cache/nta-dev/base/ (outside the
   clone; NTA_DEV_CACHE overrides), so a second build only imports it.
2. `docker import` of that tarball -> `<tag>-rootfs`: a plain Debian + Python image trusting the public CAs.
3. A thin local-only layer on top -> `<tag>`: the host's CA bundle plus PIP_CERT/SSL_CERT_FILE/REQUESTS_CA_BUNDLE
   pointing at it.

Why the CA layer lives here and not in the Dockerfiles: build machines like ours reach PyPI through a TLS-inspecting
proxy whose CA only the host trusts, so pip in the image must trust the host bundle. Putting that in the Dockerfiles
would ship it in every image built from the default (registry) base, i.e. in production. Keeping it in the
locally built base confines it to images built on this machine, which are never pushed (the image carries the label
`org.nta.local-only=true`); the Dockerfiles never mention it, and the default BASE_IMAGE path uses the public store.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from ..errors import ToolkitError, entry_point

DEFAULT_TAG = "nta-base:bookworm"
SUITE = "bookworm"
# Only what `python3 -m venv` + pip need; everything else comes from PyPI inside the images.
PACKAGES = ("python3", "python3-venv", "ca-certificates")
RECIPE_VERSION = "2"  # bump when the rootfs recipe changes, so cached tarballs are rebuilt
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
IMAGE_CA_PATH = "/usr/local/share/nta-dev/host-ca.crt"
APT_SOURCES = (Path("/etc/apt/sources.list.d"), Path("/etc/apt/sources.list"))
# Translations, manuals and docs are a quarter of a minbase rootfs; dpkg skips them in later installs too
# (as Debian's own slim images do). Copyright files stay.
DPKG_EXCLUDES = """path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
"""


class BaseImageError(ToolkitError):
    """The base image cannot be built; the message names the fix."""


def cache_dir() -> Path:
    root = os.environ.get("NTA_DEV_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "nta-dev"
    return Path(root) / "base"


def _deb822_stanzas(text: str) -> list[dict[str, str]]:
    stanzas, current = [], {}
    for line in text.splitlines() + [""]:
        if not line.strip():
            if current:
                stanzas.append(current)
            current = {}
        elif not line.startswith("#") and not line[0].isspace() and ":" in line:
            key, _, value = line.partition(":")
            current[key.strip().lower()] = value.strip()
    return stanzas


def apt_entries(paths: tuple[Path, ...] | None = None) -> list[tuple[str, list[str], list[str]]]:
    """(uri, suites, components) of every enabled `deb` source of this machine, deb822 and one-line format."""
    files: list[Path] = []
    for path in APT_SOURCES if paths is None else paths:
        if path.is_dir():
            files += sorted(path.glob("*.sources")) + sorted(path.glob("*.list"))
        elif path.is_file():
            files.append(path)
    entries = []
    for file in files:
        text = file.read_text(errors="replace")
        if file.suffix == ".sources":
            for st in _deb822_stanzas(text):
                if "deb" in st.get("types", "").split() and st.get("enabled", "yes") != "no":
                    for uri in st.get("uris", "").split():
                        entries.append((uri, st.get("suites", "").split(), st.get("components", "main").split()))
            continue
        for line in text.splitlines():
            words = line.split("#", 1)[0].split()
            if len(words) >= 3 and words[0] == "deb":
                if words[1].startswith("["):  # options: deb [arch=amd64 signed-by=...] URI suite comps
                    while words and not words[0].endswith("]"):
                        words.pop(0)
                    words = words[1:]
                else:
                    words = words[1:]
                if len(words) >= 2:
                    entries.append((words[0], [words[1]], words[2:] or ["main"]))
    return entries


def debian_mirror(suite: str = SUITE) -> str:
    """The mirror URI this machine's apt uses for `suite` (never hard-coded: read from the apt sources)."""
    for uri, suites, _ in apt_entries():
        if suite in suites:
            return uri
    raise BaseImageError(
        f"no apt source for Debian {suite} found in /etc/apt/sources.list(.d): add one (e.g. "
        f"`deb http://<debian mirror>/debian {suite} main`) or set NTA_DEBIAN_MIRROR=URL"
    )


def rootfs_sources(suite: str = SUITE) -> str:
    """sources.list for the image: this machine's entries for `suite` and its -updates/-security companions."""
    lines = [f"deb {uri} {s} {' '.join(comps)}" for uri, suites, comps in apt_entries()
             for s in suites if s == suite or s.startswith(f"{suite}-")]  # fmt: skip
    return "\n".join(dict.fromkeys(lines)) + "\n"


def tarball_path(mirror: str) -> Path:
    key = hashlib.sha256(f"{RECIPE_VERSION} {SUITE} {mirror} {' '.join(PACKAGES)}".encode()).hexdigest()[:12]
    return cache_dir() / f"{SUITE}-minbase-{key}.tar"


def build_rootfs_tarball(mirror: str, *, fresh: bool = False, log=print) -> Path:
    """debootstrap into a temporary folder and pack it; reuse the cached tarball unless `fresh`."""
    target = tarball_path(mirror)
    if target.exists() and not fresh:
        log(f"base image: reusing cached rootfs {target}")
        return target
    if not shutil.which("debootstrap"):
        raise BaseImageError("debootstrap is not installed: run `apt-get install -y debootstrap` (as root)")
    if os.geteuid() != 0:
        raise BaseImageError("debootstrap needs root: run `sudo .venv/bin/python -m nta_dev.images.base`")
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix="rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(rootfs), mirror]
        log(f"base image: {' '.join(cmd)}")
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise BaseImageError(f"debootstrap failed (exit {done.returncode}); check that {mirror} is reachable "
                                 f"and see the tail of its log:\n{(done.stdout + done.stderr)[-3000:]}")  # fmt: skip
        (rootfs / "etc/apt/sources.list").write_text(rootfs_sources())
        (rootfs / "etc/dpkg/dpkg.cfg.d/nta-slim").write_text(DPKG_EXCLUDES)
        for folder in ("usr/share/locale", "usr/share/man", "usr/share/info", "usr/share/doc"):
            for path in sorted((rootfs / folder).rglob("*"), reverse=True):
                if path.is_symlink() or path.is_file():
                    if not (folder == "usr/share/doc" and path.name == "copyright"):
                        path.unlink()
                elif path.is_dir() and not any(path.iterdir()):
                    path.rmdir()
        # Smaller image: no downloaded .debs, package lists or logs (apt-get update runs before installs anyway).
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "var/log"):
            for child in (rootfs / junk).glob("*"):
                if child.is_file():
                    child.unlink()
        partial = target.with_suffix(".partial")
        subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
        partial.replace(target)
    for stale in target.parent.glob(f"{SUITE}-minbase-*.tar"):  # tarballs of older recipes or mirrors
        if stale != target:
            stale.unlink()
    log(f"base image: rootfs packed in {time.monotonic() - started:.0f} s -> {target}")
    return target


def docker_client():
    """A docker SDK client, or an error that says how to start the engine."""
    try:
        import docker
    except ImportError as exc:
        raise BaseImageError("the docker SDK is missing: run `.venv/bin/pip install -e '.[test]'` "
                             "(or `pip install docker`)") from exc  # fmt: skip
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except Exception as exc:  # the SDK raises several types (DockerException, requests errors)
        raise BaseImageError(f"cannot reach the Docker engine ({exc}): start it (`sudo dockerd &`, or "
                             "`nta_dev.cluster.ensure_dockerd()`), or point DOCKER_HOST at one") from exc  # fmt: skip
    return client


def image_exists(client, tag: str) -> bool:
    import docker.errors

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def import_rootfs(client, tarball: Path, tag: str) -> None:
    repository, _, version = tag.partition(":")
    changes = ["ENV LANG=C.UTF-8", 'CMD ["/bin/bash"]', "LABEL org.nta.local-only=true"]
    with tarball.open("rb") as fh:
        client.api.import_image_from_data(fh, repository=repository, tag=version or "latest", changes=changes)
    if not image_exists(client, tag):
        raise BaseImageError(f"docker import did not produce {tag}; see the Docker engine log")


def add_host_ca_layer(client, rootfs_tag: str, tag: str, bundle: Path = HOST_CA_BUNDLE) -> None:
    """`tag` = `rootfs_tag` + the host CA bundle, for pip/requests/ssl inside the images built on this machine."""
    dockerfile = (
        f"FROM {rootfs_tag}\n"
        f"COPY host-ca.crt {IMAGE_CA_PATH}\n"
        f"ENV PIP_CERT={IMAGE_CA_PATH} SSL_CERT_FILE={IMAGE_CA_PATH} REQUESTS_CA_BUNDLE={IMAGE_CA_PATH}\n"
        "LABEL org.nta.local-only=true\n"
    )
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data in (("Dockerfile", dockerfile.encode()), ("host-ca.crt", bundle.read_bytes())):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True)


def ensure_base_image(tag: str = DEFAULT_TAG, *, force: bool = False, fresh: bool = False, log=print) -> str:
    """Make sure `tag` exists (skip when present unless `force`); returns the tag."""
    client = docker_client()
    if image_exists(client, tag) and not (force or fresh):
        log(f"base image: {tag} exists (use --force to rebuild)")
        return tag
    mirror = os.environ.get("NTA_DEBIAN_MIRROR") or debian_mirror()
    tarball = build_rootfs_tarball(mirror, fresh=fresh, log=log)
    rootfs_tag = f"{tag}-rootfs" if ":" in tag else f"{tag}:rootfs"
    import_rootfs(client, tarball, rootfs_tag)
    if HOST_CA_BUNDLE.is_file():
        add_host_ca_layer(client, rootfs_tag, tag)
    else:
        log(f"base image: {HOST_CA_BUNDLE} not found; {tag} uses the Debian trust store only")
        client.images.get(rootfs_tag).tag(tag)
    log(f"base image: {tag} ready")
    return tag


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nta_dev.images.base", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default=DEFAULT_TAG, help=f"image tag to create (default {DEFAULT_TAG})")
    parser.add_argument("--force", action="store_true", help="rebuild the image even if the tag exists")
    parser.add_argument("--fresh", action="store_true", help="also re-run debootstrap instead of the cached rootfs")
    args = parser.parse_args(argv)
    ensure_base_image(args.tag, force=args.force, fresh=args.fresh)


if __name__ == "__main__":
    sys.exit(main())
