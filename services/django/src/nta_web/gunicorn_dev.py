"""The reloading dev server's config: `gunicorn -c python:nta_web.gunicorn_dev -b HOST:PORT nta_web.wsgi:application`.

gunicorn loads this module in its master. The heavy third-party libraries imported here are inherited by the
worker `--reload` forks after a save, which then imports only this project's code. Nothing of nta_web or
nta_pipeline is imported (a test checks): every reload still runs fresh project modules. `worker_int` and
`worker_exit` make the old worker stop at once; NTA_DEBUG runs a debugger (nta_devserver.debug).
"""

from nta_devserver.debug import start_from_env
from nta_devserver.gunicorn import *  # noqa: F403  (the dev settings and hooks, read by gunicorn)
from nta_devserver.gunicorn import preload

timeout = 120  # a large upload's validation and storage, as in the prod image

# distributed: the Dask client a job's submit creates (nta_pipeline.runner); 0.2 s the first job after each reload
# paid. Its import starts no thread, so the master still forks cleanly.
preload("django.core.handlers.wsgi", "django.urls", "django.template", "django.db.models", "pandas", "numpy",
        "pymongo", "gridfs", "dateutil.parser", "sqlparse", "distributed")
start_from_env(forks_workers=True)
