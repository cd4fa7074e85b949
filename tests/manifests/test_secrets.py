"""nta_dev.kube.secrets.ensure_secrets_env, and that generated secrets stay out of git."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from nta_dev.kube.secrets import SECRET_KEYS, ensure_secrets_env

from .conftest import REPO_ROOT
from .contract import OVERLAYS
from .contract import SECRET_KEYS as CONTRACT_SECRET_KEYS
from .invariants import app_user_url


def _parse(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def test_keys_are_the_contract() -> None:
    assert set(SECRET_KEYS) == CONTRACT_SECRET_KEYS


def test_creates_private_file_silently(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    path = ensure_secrets_env(tmp_path)
    assert path == tmp_path / "secrets.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = _parse(path)
    assert set(values) == CONTRACT_SECRET_KEYS
    assert all(len(v) >= 8 for v in values.values())
    assert app_user_url(values), "NTA_MONGO_URL is not an app user of its own on the nta database"
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.env"], "temp file left behind"


def test_keeps_existing_file(tmp_path: Path) -> None:
    first = ensure_secrets_env(tmp_path).read_text()
    assert ensure_secrets_env(tmp_path).read_text() == first
    other = tmp_path / "other"
    other.mkdir()
    assert ensure_secrets_env(other).read_text() != first, "values must be random"


def test_rejects_incomplete_file_without_echoing(tmp_path: Path) -> None:
    (tmp_path / "secrets.env").write_text("DJANGO_SECRET_KEY=s3cr3t-value\n")
    with pytest.raises(ValueError, match="MONGO_INITDB_ROOT_PASSWORD") as info:
        ensure_secrets_env(tmp_path)
    assert "s3cr3t-value" not in str(info.value)


def test_missing_overlay_dir(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ensure_secrets_env(tmp_path / "nope")


def test_cli_prints_path_only(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "nta_dev.kube.secrets", str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == str(tmp_path / "secrets.env")
    assert not any(v in proc.stdout + proc.stderr for v in _parse(tmp_path / "secrets.env").values())


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    git = shutil.which("git")
    if not git:
        pytest.fail("git not found: install git (the gitignore checks need it)", pytrace=False)
    return subprocess.run([git, "-C", str(REPO_ROOT), *args], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_env_is_gitignored(overlay: str) -> None:
    path = f"k8s/overlays/{overlay}/secrets.env"
    assert _git("check-ignore", "-q", path).returncode == 0, f"{path} is not gitignored"
    example = f"k8s/overlays/{overlay}/secrets.env.example"
    assert _git("check-ignore", "-q", example).returncode == 1, f"{example} must be committable"


def test_no_secrets_env_in_git() -> None:
    tracked = _git("ls-files", "--cached", "--", "k8s").stdout.split()
    committable = _git("ls-files", "--others", "--exclude-standard", "--", "k8s").stdout.split()
    assert not [p for p in tracked + committable if Path(p).name == "secrets.env"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_example_has_names_only(overlay: str) -> None:
    values = _parse(REPO_ROOT / "k8s" / "overlays" / overlay / "secrets.env.example")
    assert set(values) == CONTRACT_SECRET_KEYS
    assert all(v == "" for v in values.values()), "secrets.env.example must not carry values"
