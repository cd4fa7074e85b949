"""Print the dependencies of pyproject.toml files, one requirement per line, for the images' dependency layer.

    python3 services/requirements.py 'services/pipeline/pyproject.toml[runner]' services/django/pyproject.toml

Each argument is a pyproject.toml path, optionally followed by [extra,...] as in pip. The Dockerfiles' `deps`
stage copies only the pyproject.toml files and installs what this prints, so a code change reuses that layer.
Standard library only: it runs on the bare base image, before anything is installed.
"""

from __future__ import annotations

import sys
import tomllib


def requirements(spec: str) -> list[str]:
    """'path/pyproject.toml[a,b]' -> its project dependencies, then those of extras a and b."""
    path, _, extras = spec.removesuffix("]").partition("[")
    with open(path, "rb") as f:
        project = tomllib.load(f)["project"]
    found = list(project.get("dependencies", []))
    for extra in filter(None, (e.strip() for e in extras.split(","))):
        try:
            found += project["optional-dependencies"][extra]
        except KeyError:
            raise SystemExit(f"{path} has no optional-dependencies extra {extra!r}") from None
    return found


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for spec in sys.argv[1:]:
        print("\n".join(requirements(spec)))
