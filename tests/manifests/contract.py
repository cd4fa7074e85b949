"""Names other parts of the repo rely on (Tiltfile, invoke tasks, the services' settings)."""

from __future__ import annotations

OVERLAYS = ("dev", "aws")
# Oldest and newest Kubernetes minors whose schemas kubernetes-validate 1.37 ships.
K8S_VERSIONS = ("1.29", "1.37")

CONFIG_MAP = "nta-config"
SECRET = "nta-secrets"
CONFIG_KEYS = frozenset(
    {
        "NTA_URL_PREFIX",
        "NTA_DASK_SCHEDULER",
        "NTA_API_URL",
        "NTA_DB_NAME",
        "DJANGO_DEBUG",
        "DJANGO_ALLOWED_HOSTS",
        "NTA_MAX_UPLOAD_MB",
        "NTA_LOG_LEVEL",
        "NTA_JOB_LEASE_SECONDS",
        "NTA_JOB_RETENTION_HOURS",
        "DASK_DISTRIBUTED__WORKER__DAEMON",
        # access (README "Access and TLS"); their values differ per overlay (test_access.py)
        "NTA_AUTH",
        "NTA_AUTH_HEADER",
        "NTA_DASK_DASHBOARD",
        "NTA_TRUST_FORWARDED_PROTO",
        "DJANGO_SECURE_COOKIES",
        "DJANGO_CSRF_TRUSTED_ORIGINS",
    }
)
CONFIG_VALUES = {
    "NTA_URL_PREFIX": "/nta",
    "NTA_DASK_SCHEDULER": "tcp://nta-dask-scheduler:8786",
    "NTA_API_URL": "http://nta-flask:5000/nta/rest",
    "NTA_DB_NAME": "nta",
    "DJANGO_DEBUG": "0",
    "NTA_MAX_UPLOAD_MB": "100",
    "NTA_LOG_LEVEL": "INFO",
    "NTA_JOB_LEASE_SECONDS": "60",
    "NTA_JOB_RETENTION_HOURS": "168",
}
SECRET_KEYS = frozenset(
    {"DJANGO_SECRET_KEY", "MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD", "NTA_MONGO_URL"}
)

IMAGE_PREFIX = "nta-"
MONGO_IMAGE = "mongo:7.0.14"
# No app container takes the whole Secret (envFrom): the proxy needs no credentials, the others read only their
# keys by secretKeyRef (test_secret_keys.py).
NO_SECRET_WORKLOADS = frozenset({"nta-nginx", "nta-django", "nta-flask", "nta-dask-scheduler", "nta-dask-worker"})

# Deployment/StatefulSet name -> (container port name -> number, probe path or None for exec).
WORKLOADS: dict[str, tuple[str, dict[str, int], str | None]] = {
    "nta-nginx": ("Deployment", {"http": 8080}, "/healthz"),
    "nta-django": ("Deployment", {"http": 8000}, "/nta/healthz"),
    "nta-flask": ("Deployment", {"http": 5000}, "/nta/rest/healthz"),
    "nta-dask-scheduler": ("Deployment", {"tcp-comm": 8786, "dashboard": 8787}, "/nta/dask/health"),
    "nta-dask-worker": ("Deployment", {"dashboard": 8788}, "/health"),
    "nta-mongodb": ("StatefulSet", {"mongodb": 27017}, None),
}
SERVICES = {
    "nta-nginx": {8080},
    "nta-django": {8000},
    "nta-flask": {5000},
    "nta-dask-scheduler": {8786, 8787},
    "nta-mongodb": {27017},
}
SCHEDULER_COMMAND = [
    "dask", "scheduler", "--port", "8786", "--dashboard-address", ":8787", "--dashboard-prefix", "/nta/dask",
    "--preload", "nta_pipeline.reaper",
]  # fmt: skip
WORKER_COMMAND = [
    "dask", "worker", "tcp://nta-dask-scheduler:8786", "--preload", "nta_pipeline.worker", "--nthreads", "1",
    "--memory-limit", "0",
    "--dashboard-address", ":8788", "--name", "$(POD_NAME)",
]  # fmt: skip
# The dev overlay runs the dev images: the worker reloads synced code in place (nta_devserver.dask).
DEV_WORKER_PRELOAD = ["--preload", "nta_devserver.dask"]
WORKER_COMMANDS = {"dev": WORKER_COMMAND + DEV_WORKER_PRELOAD, "aws": WORKER_COMMAND}
HPA_MAX_REPLICAS = {"dev": 2, "aws": 8}
BASE_HPA_MAX_REPLICAS = 4
DEV_NODE_PORT = 31000
