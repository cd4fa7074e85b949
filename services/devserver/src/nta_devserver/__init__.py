"""nta_devserver: what makes the dev servers reload in a fraction of a second, and debuggable across reloads.

Installed only where code is edited (the local stack's venv and the images' dev target), never in prod.

- `nta_devserver.gunicorn`: helpers for the services' gunicorn dev configs (`nta_web.gunicorn_dev`,
  `nta_api.gunicorn_dev`): third-party imports in the master, a reload that stops the old worker at once.
- `nta_devserver.dask`: `dask worker --preload nta_devserver.dask`: the worker process stays up and forgets our
  modules when their files change, so the next task imports the new code.
- `nta_devserver.debug`: `NTA_DEBUG=HOST:PORT` starts debugpy in the long-lived process; processes it forks
  (gunicorn's reloaded workers) attach to the same debugger, so breakpoints survive reloads.
"""
