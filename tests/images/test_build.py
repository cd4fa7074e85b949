"""Each image builds from the local base; what each target contains and how it runs."""

from __future__ import annotations

import pytest

from nta_dev.images.build import IMAGES, MONGO_STANDIN, TARGETS

PY_IMAGES = ("nta-flask", "nta-django", "nta-dask")
# nta-flask holds nta_pipeline too (its stdlib-only limits and identity), installed without its dependencies.
PACKAGES = {"nta-flask": ("nta_api", "nta_pipeline"), "nta-django": ("nta_web", "nta_pipeline"),
            "nta-dask": ("nta_pipeline",)}
ALB_ARN = "arn:aws:elasticloadbalancing:us-east-2:123456789012:loadbalancer/app/nta/50dc6c495c0c9188"
TAGS = [f"{name}:{target}" for name in IMAGES for target in TARGETS] + [MONGO_STANDIN.tag(None)]


def sh(docker_client, image: str, script: str, **kwargs) -> str:
    out = docker_client.containers.run(image, ["sh", "-c", script], entrypoint=[], remove=True, **kwargs)
    return out.decode().strip()


@pytest.mark.parametrize("tag", TAGS)
def test_image_builds(built, docker_client, tag: str) -> None:
    assert tag in built, f"{tag} was not built"
    image = docker_client.images.get(tag)
    assert image.id == built[tag].image_id
    assert image.attrs["Config"]["User"] == "10001:10001"


@pytest.mark.parametrize("name", IMAGES)
def test_prod_runs_as_10001_without_build_tools(built, docker_client, name: str) -> None:
    out = sh(docker_client, f"{name}:prod", "id -u; id -g; for t in gcc cc g++ make; do command -v $t; done; true")
    assert out.splitlines() == ["10001", "10001"], f"not uid/gid 10001, or build tools present: {out}"


@pytest.mark.parametrize("name", PY_IMAGES)
def test_prod_code_is_installed_not_mounted_from_sources(built, docker_client, name: str) -> None:
    script = "; ".join(f"import {p}; print({p}.__file__)" for p in PACKAGES[name])
    paths = sh(docker_client, f"{name}:prod", f"python -c '{script}'; ls -d /app/services/*/src 2>/dev/null; true")
    for path in paths.splitlines():
        assert path.startswith("/opt/venv/lib/"), f"{name}:prod imports code from {path}"
    # The app user cannot change the installed code.
    assert sh(docker_client, f"{name}:prod", "touch /opt/venv/lib/x 2>/dev/null && echo writable; true") == ""


@pytest.mark.parametrize("name", PY_IMAGES)
def test_dev_code_is_editable_and_writable_by_the_app_user(built, docker_client, name: str) -> None:
    for package in PACKAGES[name]:
        path = sh(docker_client, f"{name}:dev", f"python -c 'import {package}; print({package}.__file__)'")
        assert path.startswith("/app/services/") and "/src/" in path, f"{package} imported from {path}"
        # Tilt syncs files into the container as the app user: the source tree must be writable by it.
        folder = path.rsplit("/", 1)[0]
        assert sh(docker_client, f"{name}:dev", f"touch {folder}/_probe.py && echo ok") == "ok"


@pytest.mark.parametrize("target", TARGETS)
def test_flask_runs_the_shared_modules_without_the_pipelines_dependencies(built, docker_client, target: str) -> None:
    # nta_api uses nta_pipeline's limits and identity themselves (no fallback copy), and the package came in
    # with --no-deps: none of the workflow's libraries are installed, but NTA_AUTH=alb's PyJWT with cryptography is.
    script = ("import importlib.util, nta_api.app, nta_api.jobs, nta_pipeline.identity as i, nta_pipeline.limits; "
              "print(nta_api.app.Limits is nta_pipeline.limits.Limits, nta_api.jobs.user_from is i.user_from); "
              "print([m for m in ('pandas', 'matplotlib', 'xlsxwriter') if importlib.util.find_spec(m)]); "
              f"print(i.AuthConfig(mode='alb', alb_arn='{ALB_ARN}').alb_region)")  # fmt: skip
    out = sh(docker_client, f"nta-flask:{target}", f'python -c "{script}"')
    assert out.splitlines() == ["True True", "[]", "us-east-2"], out


@pytest.mark.parametrize("name", ["nta-django", "nta-flask", "nta-dask"])
def test_dev_images_have_the_reloader_and_debugger_and_prod_does_not(built, docker_client, name: str) -> None:
    probe = "python -c 'import nta_devserver.gunicorn, debugpy; print(\"yes\")' 2>/dev/null; true"
    assert sh(docker_client, f"{name}:dev", probe) == "yes"
    assert sh(docker_client, f"{name}:prod", probe) == ""


@pytest.mark.parametrize("target", TARGETS)
def test_nginx_renders_only_its_own_variables(built, docker_client, target: str) -> None:
    render = "NTA_MAX_UPLOAD_MB=7 docker-entrypoint.sh render && cat /tmp/nginx.conf"
    conf = sh(docker_client, f"nta-nginx:{target}", render)
    assert "client_max_body_size 7m;" in conf
    assert "listen 8080;" in conf and "server nta-django:8000;" in conf and "alias /srv/nta/static/;" in conf
    assert "${NTA_" not in conf, "an NTA variable was left unrendered"
    assert "$http_host" in conf and "$proxy_add_x_forwarded_for" in conf, "nginx's own variables were substituted"
    # Valid nginx syntax (upstreams on localhost: the Service names resolve only on the stack's network).
    env = {f"NTA_{s}_UPSTREAM": "127.0.0.1:1" for s in ("DJANGO", "FLASK", "DASK")}
    sh(
        docker_client,
        f"nta-nginx:{target}",
        "docker-entrypoint.sh render && nginx -e stderr -t -q -c /tmp/nginx.conf",
        environment=env,
    )


def test_nginx_refuses_a_template_variable_it_has_no_value_for(built, docker_client) -> None:
    import docker.errors

    script = "printf 'listen ${NTA_NEW_THING};' >/tmp/t && NTA_TEMPLATE=/tmp/t docker-entrypoint.sh render"
    with pytest.raises(docker.errors.ContainerError, match="NTA_NEW_THING is used by /tmp/t but not set"):
        sh(docker_client, "nta-nginx:prod", script, stderr=True)


def test_local_base_trusts_the_host_ca_but_the_plain_rootfs_does_not(base_image, docker_client) -> None:
    if base_image != "nta-base:bookworm":
        pytest.skip(f"NTA_BASE_IMAGE={base_image}: not the locally built base")
    env = dict(e.split("=", 1) for e in docker_client.images.get(base_image).attrs["Config"]["Env"])
    assert env["PIP_CERT"] == env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"]
    rootfs_env = docker_client.images.get(f"{base_image}-rootfs").attrs["Config"].get("Env") or []
    assert not any(e.startswith(("PIP_CERT=", "SSL_CERT_FILE=", "REQUESTS_CA_BUNDLE=")) for e in rootfs_env)
    assert docker_client.images.get(base_image).labels.get("org.nta.local-only") == "true"
    assert sh(docker_client, base_image, "python3 -m venv /tmp/v && /tmp/v/bin/python -c 'print(1)'") == "1"
