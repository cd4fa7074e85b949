"""Every page lives under NTA_URL_PREFIX (default /nta/); nginx forwards that prefix unchanged."""

from django.conf import settings
from django.urls import include, path

from . import views

app_name = "nta_web"

pages = [
    path("", views.upload, name="upload"),
    path("jobs/", views.jobs, name="jobs"),
    path("jobs/<str:job_id>/", views.job_detail, name="job"),
    path("jobs/<str:job_id>/status.json", views.job_status, name="job_status"),
    path("jobs/<str:job_id>/results/", views.results, name="results"),
    path("jobs/<str:job_id>/files/<str:name>", views.result_file, name="result_file"),
    path("healthz", views.healthz, name="healthz"),
]

_prefix = settings.NTA_URL_PREFIX.strip("/")
urlpatterns = [path(f"{_prefix}/" if _prefix else "", include((pages, app_name)))]

handler400 = "nta_web.views.bad_request"
handler404 = "nta_web.views.not_found"
handler500 = "nta_web.views.server_error"
