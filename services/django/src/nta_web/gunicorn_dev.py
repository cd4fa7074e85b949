"""Config of the reloading dev server: `gunicorn --reload -c python:nta_web.gunicorn_dev nta_web.wsgi:application`.

gunicorn loads this module in its master. Importing the heavy third-party libraries here means the worker that
`--reload` forks after a save starts with them in memory and imports only this project's code. Nothing of nta_web
or nta_pipeline is imported (a test checks): every reload still runs fresh project modules.
"""

import importlib

PRELOADED = ("django.core.handlers.wsgi", "django.urls", "django.template", "django.db.models", "pandas", "numpy",
             "pymongo", "gridfs", "dateutil.parser", "sqlparse")
for _module in PRELOADED:
    importlib.import_module(_module)
