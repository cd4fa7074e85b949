"""WSGI entry point: `gunicorn nta_web.wsgi:application` (add `--reload` in development)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nta_web.settings")

application = get_wsgi_application()
