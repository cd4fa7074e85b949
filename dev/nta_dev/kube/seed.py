"""Load a chemical reference CSV into a running stack (`./inv seed`).

On a cluster the file is streamed into the Flask pod, whose loader talks to the in-cluster MongoDB (no port
exposed); with a MongoDB URL (the local stack, or any reachable server) the loader runs right here.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ToolkitError
from .context import Kubectl

REPO = Path(__file__).resolve().parents[3]
SEED_CSV = REPO / "services" / "flask" / "seed" / "reference_seed.csv"
FLASK_WORKLOAD = "deploy/nta-flask"
LOADER = "nta-load-reference"  # console script of nta_api (services/flask)


def check_csv(path: Path) -> Path:
    if not path.is_file():
        raise ToolkitError(f"{path} does not exist; pass a CSV with PREFERRED_NAME and MOLECULAR_FORMULA columns "
                           f"(example: {SEED_CSV.relative_to(REPO)})")  # fmt: skip
    return path


def cluster_seed_args(namespace: str, replace: bool) -> list[str]:
    """kubectl arguments that run the loader in the Flask pod, reading the CSV from stdin ("-")."""
    args = ["exec", "-i", "-n", namespace, FLASK_WORKLOAD, "--", LOADER, "-"]
    return [*args, "--replace"] if replace else args


def seed_cluster(kubectl: Kubectl, csv: Path, namespace: str, replace: bool = False) -> None:
    code = kubectl.stream_file(cluster_seed_args(namespace, replace), check_csv(csv))
    if code != 0:
        raise ToolkitError(f"loading {csv.name} in {FLASK_WORKLOAD} failed (exit {code}); the loader's message is "
                           f"above. Is the stack up? `./inv status --context {kubectl.context.name}`")  # fmt: skip


def seed_local(mongo_url: str, csv: Path, db_name: str = "nta", replace: bool = False) -> int:
    """Load ``csv`` into ``db_name`` at ``mongo_url``; returns the number of compounds inserted."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    from nta_api.reference import ReferenceLoadError, load_reference_csv

    client: MongoClient = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    try:
        return load_reference_csv(client[db_name], check_csv(csv), replace=replace)
    except ReferenceLoadError as exc:
        raise ToolkitError(f"{exc}") from None
    except PyMongoError as exc:
        raise ToolkitError(f"MongoDB (NTA_MONGO_URL) is not reachable: {exc.__class__.__name__}; start the local "
                           "stack with `./inv up`, or fix the URL") from None  # fmt: skip
    finally:
        client.close()
