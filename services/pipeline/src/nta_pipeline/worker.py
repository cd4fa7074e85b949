"""`dask worker --preload nta_pipeline.worker`: a Dask worker that is ready for its first job when it starts.

Without this preload, a worker's first job paid two start-up costs that no later job pays:
- importing pandas, xlsxwriter, matplotlib and the MongoDB client;
- where figures are drawn in a render process, starting multiprocessing's fork server. `RenderPool()` blocks
  until the server has imported the drawing modules and forked: about 1 s on the 2-core reference machine.

Both now happen here, before the worker takes work. The worker Deployment's command (k8s/base) names this
preload, so every stack that runs that command uses it: the cluster, the containers stack and the local stack.
"""

from __future__ import annotations

from typing import Any

from .render import start_fork_server

# What a job imports from outside our code. Only third-party modules: a job imports ours itself, so after the dev
# reloader (nta_devserver.dask) has forgotten them it gets them from disk.
THIRD_PARTY = ("pandas", "numpy", "xlsxwriter", "orjson", "isal.isal_zlib", "matplotlib", "matplotlib.figure",
               "matplotlib.backends.backend_agg", "pymongo", "gridfs", "requests")  # fmt: skip


def warm_up() -> None:
    """Import what jobs need and start the render processes' fork server where jobs will use one."""
    import importlib

    for module in THIRD_PARTY:
        importlib.import_module(module)
    start_fork_server()


def dask_setup(worker: Any) -> None:
    """Dask's preload hook, called in the worker process before it connects to the scheduler."""
    warm_up()
