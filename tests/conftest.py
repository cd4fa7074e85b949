"""Shared test fixtures. Test data lives in tests/data (copied from the shared instrument export)."""

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "ms1"
# Fixtures more than one layer uses: the Docker engine and the offline base image (images, reload).
pytest_plugins = ("tests.fixtures.docker",)


def pytest_addoption(parser: pytest.Parser) -> None:
    # Here, not in tests/e2e/conftest.py, so the option also exists when pytest starts from tests/.
    group = parser.getgroup("nta e2e")
    group.addoption("--base-url", default="", help="run tests/e2e against this running stack (default: start "
                    "the local stack), e.g. http://localhost:31000")  # fmt: skip
    group.addoption("--max-upload-mb", type=int, default=0,
                    help="the stack's NTA_MAX_UPLOAD_MB (default: 100 with --base-url)")


@pytest.fixture(scope="session")
def ms1_data() -> Path:
    return DATA
