"""Shared test fixtures. Test data lives in tests/data (copied from the shared instrument export)."""

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "ms1"


@pytest.fixture(scope="session")
def ms1_data() -> Path:
    return DATA
