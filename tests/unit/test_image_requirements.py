"""services/requirements.py: what the images' dependency layer installs, read from the pyproject.toml files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "services" / "requirements.py"
PYPROJECT = """[project]
name = "demo"
dependencies = ["pandas>=2.2", "numpy>=1.26"]
[project.optional-dependencies]
runner = ["distributed>=2024.1"]
plots = ["matplotlib>=3.8", "pillow"]
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=30)


def test_prints_the_dependencies_then_those_of_each_extra_asked_for(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(PYPROJECT)
    (tmp_path / "b.toml").write_text('[project]\nname = "b"\ndependencies = ["django>=5.0,<6"]\n')
    done = run("a.toml[runner, plots]", "b.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["pandas>=2.2", "numpy>=1.26", "distributed>=2024.1", "matplotlib>=3.8", "pillow",
                                   "django>=5.0,<6"]  # fmt: skip


def test_an_unknown_extra_stops_the_build_naming_it(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(PYPROJECT)
    done = run("a.toml[runer]", cwd=tmp_path)
    assert done.returncode != 0 and "'runer'" in done.stderr and "a.toml" in done.stderr, done.stderr


def test_every_python_image_installs_its_dependency_layer_with_it() -> None:
    for name in ("django", "flask", "dask"):
        dockerfile = (REPO / "services" / name / "Dockerfile").read_text()
        deps = dockerfile[dockerfile.index(" AS deps"):dockerfile.index(" AS dev")]
        assert "COPY services/requirements.py services/" in deps, name
        assert "RUN python3 services/requirements.py" in deps, name
        assert "tomllib" not in dockerfile, f"{name}: a copy of the requirements reader is back in the Dockerfile"
