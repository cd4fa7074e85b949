"""Shared test fixtures. Test data lives in tests/data (copied from the shared instrument export)."""

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "ms1"
CLUSTER_LAYER = Path(__file__).parent / "cluster"
# Fixtures more than one layer uses: the Docker engine and the offline base image (images, tiltfile), the ALB's
# key server and token signer (api, web).
pytest_plugins = ("tests.fixtures.docker", "tests.fixtures.alb")


def pytest_addoption(parser: pytest.Parser) -> None:
    # Here, not in tests/e2e/conftest.py, so the option also exists when pytest starts from tests/.
    group = parser.getgroup("nta e2e")
    group.addoption("--base-url", default="", help="run tests/e2e against this running stack (default: start "
                    "the local stack), e.g. http://localhost:31000")  # fmt: skip
    group.addoption("--max-upload-mb", type=int, default=0,
                    help="the stack's NTA_MAX_UPLOAD_MB (default: 100 with --base-url)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The cluster layer runs last: CI builds its Kubernetes (about 20 minutes) in the background meanwhile
    (.ci/run), on the CPU the other layers leave idle; tests/cluster waits for that build if it is still running."""
    items.sort(key=lambda item: Path(str(item.path)).is_relative_to(CLUSTER_LAYER))  # stable: file order otherwise


@pytest.fixture(scope="session")
def ms1_data() -> Path:
    return DATA
