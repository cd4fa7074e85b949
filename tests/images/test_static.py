"""Rules for the Dockerfiles, the build context and the base-image builder that need no Docker engine."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from docker.utils.build import exclude_paths

from nta_dev.images import base as base_image
from nta_dev.images import dockerfile
from nta_dev.images.build import IMAGES, MONGO_STANDIN, REPO
from nta_dev.stack import containers
from tests.manifests.contract import DEV_WORKER_PRELOAD, SCHEDULER_COMMAND, WORKER_COMMAND

DOCKERFILES = {spec.name: REPO / spec.dockerfile for spec in [*IMAGES.values(), MONGO_STANDIN]}


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dockerfile_works_with_the_classic_builder_and_a_pinned_default_base(name: str) -> None:
    text = DOCKERFILES[name].read_text()
    assert not re.search(r"^\s*RUN\s+--mount", text, re.M), "RUN --mount needs BuildKit; the SDK uses the classic"
    assert "<<" not in text, "heredocs need BuildKit"
    default = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.M)
    assert default, "no `ARG BASE_IMAGE=<pinned default>`"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", default.group(1)), default.group(1)
    assert text.index("ARG BASE_IMAGE") < text.index("FROM ${BASE_IMAGE}")


@pytest.mark.parametrize("name", IMAGES)
def test_dockerfile_has_dev_and_prod_targets_and_no_host_trust_store(name: str) -> None:
    text = DOCKERFILES[name].read_text()
    stages = re.findall(r"^FROM \S+ AS (\S+)$", text, re.M)
    assert {"dev", "prod"} <= set(stages), stages
    # The host CA is a property of the local base image only (nta_dev.images.base), never of a Dockerfile.
    for word in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "ca-certificates.crt", "nta-dev/host-ca"):
        assert word not in text, f"{name} Dockerfile mentions {word}"
    prod = text[text.index(" AS prod") :]
    assert re.search(r"^USER 10001", prod, re.M), "prod must run as uid 10001"


def test_build_context_is_narrow() -> None:
    patterns = [line for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]  # fmt: skip
    sent = exclude_paths(str(REPO), patterns)
    for needed in ("services/flask/src/nta_api/app.py", "services/pipeline/pyproject.toml",
                   "services/django/src/nta_web/wsgi.py", "services/nginx/nginx.conf.template",
                   "services/nginx/docker-entrypoint.sh", "services/flask/seed/reference_seed.csv"):  # fmt: skip
        assert needed in sent, f"{needed} is not sent to the daemon"
    leaked = sorted(p for p in sent if re.match(r"(\.venv|\.git|tests|benchmarks|k8s|artifacts|dev)/", p)
                    or "__pycache__" in p or ".egg-info" in p)  # fmt: skip
    assert not leaked, leaked[:10]


def test_container_stack_runs_the_manifest_commands() -> None:
    # Kubernetes names workers after the pod ($(POD_NAME)); the container stack has one worker with a fixed name.
    named = [containers.WORKER_NAME if a == "$(POD_NAME)" else a for a in WORKER_COMMAND]
    assert containers.worker_command("prod") == named
    assert containers.worker_command("dev") == named + DEV_WORKER_PRELOAD


def test_container_stack_runs_the_configmap_settings() -> None:
    env = containers.environment("not-a-secret")
    assert env["NTA_DASK_SCHEDULER"] == "tcp://nta-dask-scheduler:8786" and env["NTA_URL_PREFIX"] == "/nta"
    assert env["NTA_JOB_RETENTION_HOURS"] == "168" and env["NTA_AUTH"] == "off"  # from k8s/base/configmap.yaml
    assert env["NTA_MONGO_URL"] == "mongodb://nta-mongodb:27017" and env["DJANGO_SECRET_KEY"] == "not-a-secret"


def test_apt_sources_deb822_and_one_line(tmp_path: Path) -> None:
    (tmp_path / "debian.sources").write_text(
        "Types: deb\n# comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main contrib\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\nComponents: main\n\n"
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\nComponents: main\n"
    )
    (tmp_path / "extra.list").write_text("deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian trixie main\n"
                                         "# deb http://off.example/debian sid main\n")  # fmt: skip
    entries = base_image.apt_entries((tmp_path,))
    assert ("http://mirror.example/debian", ["bookworm", "bookworm-updates"], ["main", "contrib"]) in entries
    assert ("http://one.example/debian", ["trixie"], ["main"]) in entries
    assert not any("src.example" in uri or "off.example" in uri for uri, _, _ in entries)


def test_mirror_comes_from_this_machines_apt_sources() -> None:
    mirror = base_image.debian_mirror()
    uris = [uri for uri, suites, _ in base_image.apt_entries() if "bookworm" in suites]
    assert mirror == uris[0]


def test_no_package_mirror_host_is_written_in_the_repo() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    hosts = tuple(f"{name}.debian.org" for name in ("deb", "security", "ftp"))  # spelled apart: not a hit here
    found = [path for path in tracked.splitlines() if (REPO / path).is_file() and (REPO / path).suffix != ".png"
             and any(host in (REPO / path).read_text(errors="ignore") for host in hosts)]
    assert found == [], f"a Debian mirror host is written in {found}: read it from apt's sources instead"


def test_missing_apt_source_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base_image, "APT_SOURCES", (tmp_path,))
    with pytest.raises(base_image.BaseImageError, match="NTA_DEBIAN_MIRROR"):
        base_image.debian_mirror()


def test_the_dask_image_alone_runs_the_scheduler_with_its_reaper() -> None:
    # A scheduler started from the image alone still fails jobs whose worker went silent; the Deployment runs this
    # CMD (it sets no command), and dev and prod inherit it from the deps stage: written once.
    text = DOCKERFILES["nta-dask"].read_text()
    assert dockerfile.cmd(DOCKERFILES["nta-dask"]) == SCHEDULER_COMMAND  # exactly one CMD (else ToolkitError)
    assert text.index("CMD [") < text.index(" AS dev"), "the CMD belongs to the deps stage both targets build on"
