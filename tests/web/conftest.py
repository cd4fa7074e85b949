"""Fixtures for the nta_web tests: the real settings module, a real MongoDB-protocol server (nx-27017 or
NTA_TEST_MONGO_URL) and a real Dask scheduler without workers (jobs are submitted and stay queued)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from gridfs import GridFSBucket
from pymongo import MongoClient
from pymongo.database import Database

from tests.fixtures.mongo import mongo_url  # noqa: F401  (re-exported fixture)
from tests.fixtures.require import unavailable

DATA = Path(__file__).resolve().parents[1] / "data" / "ms1"


def _require(module: str) -> None:
    """A missing package fails in CI and skips elsewhere (the repo-wide run must still collect)."""
    try:
        __import__(module)
    except ImportError as exc:
        unavailable(f"{module} is not installed ({exc}); run `.venv/bin/pip install -e services/django`")


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def scheduler_address() -> Iterator[str]:
    _require("distributed")
    from distributed import LocalCluster

    # No workers: a submitted job is accepted by the real scheduler and then waits, so no workflow runs here.
    cluster = LocalCluster(n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1", dashboard_address=":0")
    try:
        yield cluster.scheduler_address
    finally:
        from nta_pipeline.runner import close_clients

        close_clients()  # the views' cached client, before its scheduler goes
        cluster.close()


@pytest.fixture(scope="session")
def web_db_name() -> str:
    return f"nta_web_test_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def django_setup(mongo_url: str, scheduler_address: str, web_db_name: str) -> Iterator[None]:  # noqa: F811
    """Load nta_web.settings from a controlled environment, once per test process."""
    _require("django")
    _require("nta_web")
    import django
    from django.conf import settings
    from django.test.utils import setup_test_environment, teardown_test_environment

    env = {
        "DJANGO_SETTINGS_MODULE": "nta_web.settings",
        "DJANGO_SECRET_KEY": uuid.uuid4().hex * 2,
        "DJANGO_DEBUG": "0",
        "NTA_MONGO_URL": mongo_url,
        "NTA_DB_NAME": web_db_name,
        "NTA_DASK_SCHEDULER": scheduler_address,
        "NTA_LOG_LEVEL": "WARNING",
    }
    with _environ(env):
        django.setup()  # reads the settings module now; later environment changes do not matter
    assert web_db_name == settings.NTA_DB_NAME, "Django settings were loaded before this fixture"
    setup_test_environment()
    yield
    teardown_test_environment()


@pytest.fixture(scope="session")
def db(django_setup: None, mongo_url: str, web_db_name: str) -> Iterator[Database]:  # noqa: F811
    client: MongoClient = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    database = client[web_db_name]
    # nx-27017 0.8.1 breaks GridFS in a database whose fs.files was queried before the first upload
    # ("duplicate column name: data"); one upload first sets the collections up as GridFS expects.
    bucket = GridFSBucket(database)
    bucket.delete(bucket.upload_from_stream("warm-up", b"x"))
    yield database
    client.drop_database(web_db_name)
    client.close()


@pytest.fixture
def client(django_setup: None):
    from django.test import Client

    return Client()


@pytest.fixture
def store(django_setup: None):
    from nta_web.store import get_store

    return get_store()


@pytest.fixture
def counts(db: Database) -> Callable[[], tuple[int, int]]:
    """(jobs, GridFS files) in the test database: a rejected upload must change neither."""
    # nx-27017 cannot count_documents on the GridFS collections; find() works everywhere.
    return lambda: (db.jobs.count_documents({}), len(list(db["fs.files"].find({}, {"_id": 1}))))


@pytest.fixture(scope="session")
def ms1_files() -> dict[str, bytes]:
    return {
        "pos": (DATA / "pooled_blood_pos_MPP.csv").read_bytes(),
        "neg": (DATA / "pooled_blood_neg_MPP.csv").read_bytes(),
        "tracers": (DATA / "pooled_blood_tracers.csv").read_bytes(),
        "run_sequence_pos": (DATA / "pooled_blood_run_sequence_pos.csv").read_bytes(),
        "run_sequence_neg": (DATA / "pooled_blood_run_sequence_neg.csv").read_bytes(),
    }
