"""Fixtures for the nta_api tests: a real MongoDB-protocol server and one database per test module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from nta_api.app import create_app
from nta_api.settings import Settings
from tests.fixtures.mongo import mongo_url  # noqa: F401  (re-exported fixture)

DATA = Path(__file__).resolve().parents[1] / "data" / "ms1"
SEED = Path(__file__).resolve().parents[2] / "services" / "flask" / "seed" / "reference_seed.csv"


@pytest.fixture(scope="session")
def mongo_client(mongo_url: str) -> Iterator[MongoClient]:  # noqa: F811
    client: MongoClient = MongoClient(mongo_url, serverSelectionTimeoutMS=5000, tz_aware=True)
    yield client
    client.close()


@pytest.fixture(scope="module")
def db_name(request: pytest.FixtureRequest) -> str:
    # Unique per module (and per xdist worker run) so modules never see each other's data.
    return f"nta_test_{request.module.__name__.rsplit('.', 1)[-1]}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def db(mongo_client: MongoClient, db_name: str) -> Iterator[Database]:
    yield mongo_client[db_name]
    mongo_client.drop_database(db_name)


@pytest.fixture(scope="module")
def settings(mongo_url: str, db_name: str) -> Settings:  # noqa: F811
    # reference_check_seconds=0: every request checks the version, so reload tests need no sleeps.
    return Settings(mongo_url=mongo_url, db_name=db_name, reference_check_seconds=0.0)


@pytest.fixture(scope="module")
def app(settings: Settings, mongo_client: MongoClient):
    return create_app(settings, client=mongo_client)


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()
