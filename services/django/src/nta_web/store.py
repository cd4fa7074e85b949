"""The job store the views use: one JobStore (and MongoClient) per process and configuration."""

from __future__ import annotations

import functools

from django.conf import settings

from nta_pipeline.jobstore import JobStore


@functools.cache
def _store(mongo_url: str, db_name: str, lease_seconds: float, timeout_ms: int) -> JobStore:
    return JobStore.from_url(mongo_url, db_name, lease_seconds=lease_seconds, timeout_ms=timeout_ms)


def get_store() -> JobStore:
    """Keyed by the settings so override_settings (tests) gets its own store."""
    return _store(settings.NTA_MONGO_URL, settings.NTA_DB_NAME, float(settings.NTA_JOB_LEASE_SECONDS),
                  int(settings.NTA_MONGO_TIMEOUT_MS))  # fmt: skip
