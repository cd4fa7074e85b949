"""Create the gitignored ``secrets.env`` that a kustomize overlay turns into the ``nta-secrets`` Secret.

Run as ``python -m nta_dev.kube.secrets k8s/overlays/dev`` (not as a file path: this module's name would
then shadow the standard library's ``secrets``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from secrets import token_hex, token_urlsafe

SECRETS_FILENAME = "secrets.env"
# The contract with k8s/ (secretGenerator) and the services that read these variables.
SECRET_KEYS = (
    "DJANGO_SECRET_KEY",
    "MONGO_INITDB_ROOT_USERNAME",
    "MONGO_INITDB_ROOT_PASSWORD",
    "NTA_MONGO_URL",
)
MONGO_HOST = "nta-mongodb:27017"


def _generate() -> dict[str, str]:
    # token_urlsafe/token_hex only emit [A-Za-z0-9_-]: safe unquoted in an env file and in a URL.
    # The apps get a user of their own, created by MongoDB's first-start script (k8s/base/mongodb-init-configmap.yaml)
    # with readWrite on the nta database only; the root user is for the database's own setup.
    app_user = f"nta_{token_hex(4)}"
    return {
        "DJANGO_SECRET_KEY": token_urlsafe(50),
        "MONGO_INITDB_ROOT_USERNAME": f"root_{token_hex(4)}",
        "MONGO_INITDB_ROOT_PASSWORD": token_urlsafe(32),
        "NTA_MONGO_URL": f"mongodb://{app_user}:{token_urlsafe(32)}@{MONGO_HOST}/nta?authSource=nta",
    }


def _keys_in(path: Path) -> set[str]:
    keys = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            keys.add(line.split("=", 1)[0].strip())
    return keys


def ensure_secrets_env(overlay_dir: Path) -> Path:
    """Return ``overlay_dir/secrets.env``, creating it with random values (mode 0600) if absent.

    An existing file is never rewritten: MongoDB keeps the root password it was initialised with,
    so new values would lock the apps out. Values are never printed or logged.
    Raises ValueError (naming keys only) if an existing file lacks some of SECRET_KEYS.
    """
    overlay_dir = Path(overlay_dir)
    if not overlay_dir.is_dir():
        raise FileNotFoundError(f"overlay directory {overlay_dir} does not exist")
    target = overlay_dir / SECRETS_FILENAME
    if not target.exists():
        body = "".join(f"{key}={value}\n" for key, value in _generate().items())
        # mkstemp creates the file 0600; os.link publishes it complete and fails if another
        # process (e.g. a parallel test worker) won the race, in which case its file is kept.
        fd, tmp_name = tempfile.mkstemp(prefix=".secrets-", dir=overlay_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as tmp:
                tmp.write(body)
            with contextlib.suppress(FileExistsError):
                os.link(tmp_name, target)
        finally:
            os.unlink(tmp_name)
    missing = [key for key in SECRET_KEYS if key not in _keys_in(target)]
    if missing:
        raise ValueError(f"{target} lacks {', '.join(missing)}; add them or delete the file to regenerate")
    return target


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m nta_dev.kube.secrets OVERLAY_DIR...", file=sys.stderr)
        return 2
    for arg in argv:
        print(ensure_secrets_env(Path(arg)))  # the path only, never the values
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
