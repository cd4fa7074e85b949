"""The dev servers' gunicorn masters preload third-party libraries only: a reload must still import every module of
ours afresh, so none may be loaded in the master that forks the new worker."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.fixtures.gunicorn import gunicorn_settings

OURS = ("nta_web", "nta_api", "nta_pipeline")


@pytest.mark.parametrize(("config", "package"), [("nta_web.gunicorn_dev", "nta_web"),
                                                 ("nta_api.gunicorn_dev", "nta_api")])
def test_the_master_loads_libraries_but_none_of_our_modules(config: str, package: str) -> None:
    code = (f"import importlib, json, sys; importlib.import_module({config!r}); "
            "print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    ours = [m for m in loaded if m.split(".")[0] in OURS]
    assert ours == [package, config], ours  # the package's empty __init__ and the config itself, nothing else
    assert "pymongo" in loaded  # and the heavy libraries are really there for the worker to inherit


@pytest.mark.parametrize(("config", "timeout"), [("nta_web.gunicorn_dev", 120), ("nta_api.gunicorn_dev", 30)])
def test_gunicorn_reads_the_dev_flags_from_the_config_module(config: str, timeout: int) -> None:
    """The flags the dev images' CMD and the local stack no longer pass: gunicorn ignores a misspelt name in a
    config module silently, so ask gunicorn itself what it made of the module."""
    settings = gunicorn_settings(["gunicorn", "-c", f"python:{config}", "-b", "127.0.0.1:1", "x:y"])
    wanted = ("reload", "workers", "threads", "graceful_timeout", "timeout", "accesslog", "bind")
    assert {k: settings[k] for k in wanted} == {
        "reload": True, "workers": 1, "threads": 8, "graceful_timeout": 5, "timeout": timeout, "accesslog": "-",
        "bind": ["127.0.0.1:1"]}  # fmt: skip
    for hook in ("worker_int", "worker_exit", "post_worker_init"):  # ours, not gunicorn's no-op defaults
        assert settings[hook] == f"nta_devserver.gunicorn.{hook}", settings[hook]
