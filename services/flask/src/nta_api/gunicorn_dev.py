"""Config of the reloading dev server: `gunicorn --reload -c python:nta_api.gunicorn_dev 'nta_api.app:create_app()'`.

gunicorn loads this module in its master. Importing the heavy third-party libraries here means the worker that
`--reload` forks after a save starts with them in memory and imports only this project's code. Nothing of nta_api
is imported (a test checks): every reload still runs fresh project modules.
"""

import importlib

PRELOADED = ("flask", "werkzeug.serving", "jinja2", "numpy", "pymongo", "gridfs")
for _module in PRELOADED:
    importlib.import_module(_module)
