"""nta_devserver.dask.forget: a reload drops a package's modules, after calling each module's before_reload()
(nta_pipeline.render stops its plot workers there); a hook that fails does not stop the reload."""

from __future__ import annotations

import sys

import pytest
from nta_devserver.dask import forget

HOOKED = """
def before_reload():
    import builtins
    builtins.nta_test_reloads.append(__name__)
"""
FAILING = """
def before_reload():
    raise RuntimeError("hook failed")
"""


@pytest.fixture
def package(tmp_path, monkeypatch: pytest.MonkeyPatch) -> str:
    root = tmp_path / "nta_forget_probe"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "hooked.py").write_text(HOOKED)
    (root / "failing.py").write_text(FAILING)
    (root / "plain.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import builtins

    monkeypatch.setattr(builtins, "nta_test_reloads", [], raising=False)
    yield "nta_forget_probe"
    for name in [n for n in sys.modules if n.startswith("nta_forget_probe")]:
        sys.modules.pop(name)


def test_forget_calls_before_reload_then_drops_every_module(package: str) -> None:
    import builtins

    for module in ("hooked", "failing", "plain"):
        __import__(f"{package}.{module}")
    names = forget(package)
    assert sorted(names) == [package, f"{package}.failing", f"{package}.hooked", f"{package}.plain"]
    assert builtins.nta_test_reloads == [f"{package}.hooked"]  # called once, before the module left
    assert not [n for n in sys.modules if n.startswith(package)]  # the failing hook stopped nothing
