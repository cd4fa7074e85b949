"""Environment contract of nta_api.settings."""

from __future__ import annotations

import pytest

from nta_api.settings import ConfigError, Settings, load_settings


def test_defaults() -> None:
    s = load_settings({"NTA_MONGO_URL": "mongodb://127.0.0.1:27017"})
    assert (s.db_name, s.url_prefix, s.rest_prefix) == ("nta", "/nta", "/nta/rest")


def test_missing_mongo_url_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="NTA_MONGO_URL"):
        load_settings({})


@pytest.mark.parametrize(("var", "value"), [("NTA_DB_NAME", "a b"), ("NTA_URL_PREFIX", "nta"),
                                            ("NTA_MONGO_URL", "http://x")])  # fmt: skip
def test_invalid_values_name_the_variable(var: str, value: str) -> None:
    env = {"NTA_MONGO_URL": "mongodb://h:1", var: value}
    with pytest.raises(ConfigError, match=var):
        load_settings(env)


def test_prefix_normalised_and_frozen() -> None:
    s = load_settings({"NTA_MONGO_URL": "mongodb://h:1", "NTA_URL_PREFIX": "/api/nta/", "NTA_DB_NAME": "x"})
    assert s.rest_prefix == "/api/nta/rest"
    with pytest.raises(AttributeError):
        s.db_name = "y"  # type: ignore[misc]


def test_credentials_never_in_repr_or_redacted_url() -> None:
    s = Settings(mongo_url="mongodb://nta:s3cret@db:27017/?authSource=admin")
    assert "s3cret" not in repr(s)
    assert s.mongo_url_redacted == "mongodb://nta:***@db:27017/?authSource=admin"
