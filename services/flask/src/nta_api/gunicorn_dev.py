"""The reloading dev server's config: `gunicorn -c python:nta_api.gunicorn_dev -b HOST:PORT 'nta_api.app:create_app()'`.

gunicorn loads this module in its master. The heavy third-party libraries imported here are inherited by the
worker `--reload` forks after a save, which then imports only this project's code. Nothing of nta_api is imported
(a test checks): every reload still runs fresh project modules. `worker_int` and `worker_exit` make the old
worker stop at once; NTA_DEBUG runs a debugger (nta_devserver.debug).
"""

from nta_devserver.debug import start_from_env
from nta_devserver.gunicorn import *  # noqa: F403  (the dev settings and hooks, read by gunicorn)
from nta_devserver.gunicorn import preload

preload("flask", "werkzeug.serving", "jinja2", "numpy", "pymongo", "gridfs")
start_from_env(forks_workers=True)
