from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymongo import MongoClient

from nta_pipeline.jobstore import JobStore
from tests.fixtures.mongo import mongo_url  # noqa: F401


@pytest.fixture
def store(mongo_url: str) -> Iterator[JobStore]:  # noqa: F811
    client: MongoClient = MongoClient(mongo_url)
    name = "runner_test"
    client.drop_database(name)
    yield JobStore(client[name], lease_seconds=30)
    client.drop_database(name)
    client.close()
