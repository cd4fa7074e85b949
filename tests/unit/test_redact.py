"""nta_pipeline.redact: a password never survives, everything else of the URL does."""

from __future__ import annotations

import pytest

from nta_pipeline.redact import redact_url


@pytest.mark.parametrize("url, shown", [
    ("mongodb://nta:s3cret@db:27017/?authSource=admin", "mongodb://nta:***@db:27017/?authSource=admin"),
    ("mongodb://nta:p%40ss:w@h1:27017,h2:27018/nta", "mongodb://nta:***@h1:27017,h2:27018/nta"),
    ("mongodb+srv://nta:x@cluster0.example.net/", "mongodb+srv://nta:***@cluster0.example.net/"),
    ("mongodb://nta@db:27017", "mongodb://nta@db:27017"),  # a user without a password: nothing to hide
    ("mongodb://127.0.0.1:27017", "mongodb://127.0.0.1:27017"),
    ("http://[::1", "<unparseable url>"),
])  # fmt: skip
def test_only_the_password_is_hidden(url: str, shown: str) -> None:
    assert redact_url(url) == shown
