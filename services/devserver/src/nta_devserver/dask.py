"""`dask worker --preload nta_devserver.dask`: the worker reloads our code in place, in a fraction of a second.

A restarted worker process spends over a second importing pandas, distributed and matplotlib again, and takes
an attached debugger down with it. Instead the process stays: when a .py file of a reloaded package changes, its
stale bytecode is removed and every module of the package leaves `sys.modules`, so the next task imports the new
code (a task names its function by module and qualified name; unpickling it imports the module afresh). The
modules of the package that import an edited one are new as well, because the whole package is forgotten. A
task already running keeps the modules it holds (one it imports later is the new code). Dependencies are not
code: a changed pyproject.toml means a new image (Tilt's fall_back_on) or a restarted process, never a reload.

NTA_RELOAD_PACKAGES (comma-separated, default nta_pipeline) names the packages; NTA_DEBUG starts debugpy here
(and makes nta_pipeline.render draw the figures in this process, where its breakpoints reach).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .debug import PYCHARM, connect_pycharm, start_from_env, target_from_env

log = logging.getLogger("nta_devserver.dask")

DEFAULT_PACKAGES = "nta_pipeline"


def forget(package: str) -> list[str]:
    """Drop the package and all its submodules from sys.modules; returns their names."""
    names = [name for name in list(sys.modules) if name == package or name.startswith(package + ".")]
    for name in names:
        sys.modules.pop(name, None)
    importlib.invalidate_caches()
    return names


def package_dirs(package: str) -> list[Path]:
    """Where the package's source lives, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"nta_devserver.dask: {package!r} is not an importable package (NTA_RELOAD_PACKAGES)")
    return [Path(p).resolve() for p in spec.submodule_search_locations]


class PackageReloader(FileSystemEventHandler):
    """Forgets a package whenever a .py file under its folders is written, created, moved or deleted."""

    def __init__(self, packages: list[str]) -> None:
        self.dirs = {package: package_dirs(package) for package in packages}
        self.lock = threading.Lock()
        self.reloads = 0

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = Path(os.fsdecode(raw)) if raw else None
            if path is None or path.suffix != ".py":
                continue
            for package, dirs in self.dirs.items():
                if any(path.is_relative_to(d) for d in dirs):
                    self._reload(package, path)

    def _reload(self, package: str, path: Path) -> None:
        # Bytecode is trusted by mtime in whole seconds and size: two saves of the same length within a second
        # would otherwise import the old code.
        Path(importlib.util.cache_from_source(str(path))).unlink(missing_ok=True)
        with self.lock:
            names = forget(package)
            self.reloads += 1
        log.info("nta: %s changed: %d modules of %s will be imported afresh by the next task",
                 path.name, len(names), package)  # fmt: skip
        target = target_from_env()
        if target is not None and target.ide == PYCHARM:
            connect_pycharm(target)  # PyCharm was not listening at start: a save is the moment to try again

    def start(self) -> Any:
        observer = Observer()
        for dirs in self.dirs.values():
            for folder in dirs:
                observer.schedule(self, str(folder), recursive=True)
        observer.daemon = True
        observer.start()
        return observer


def dask_setup(worker: Any) -> None:
    """Dask calls this when the worker starts (`--preload nta_devserver.dask`), after the base command's
    `--preload nta_pipeline.worker` has imported the third-party modules our tasks use: a reload imports only ours."""
    start_from_env()  # under NTA_DEBUG nta_pipeline.render draws the figures here too, where breakpoints reach
    packages = [p.strip() for p in os.environ.get("NTA_RELOAD_PACKAGES", DEFAULT_PACKAGES).split(",") if p.strip()]
    reloader = PackageReloader(packages)
    worker._nta_reloader_observer = reloader.start()  # kept alive with the worker
    log.info("nta: reloading %s in place on code changes", ", ".join(packages))
