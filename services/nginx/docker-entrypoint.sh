#!/bin/sh
# Renders /etc/nginx/nta/nginx.conf.template to $NTA_CONF (default /tmp/nginx.conf), then runs the command
# (default: nginx in the foreground). `docker-entrypoint.sh render` only renders (used by nta-nginx-reload).
# Only the ${NTA_*} variables the template uses are substituted, so nginx's own $variables stay intact.
set -eu

: "${NTA_TEMPLATE:=/etc/nginx/nta/nginx.conf.template}"
: "${NTA_CONF:=/tmp/nginx.conf}"
: "${NTA_LISTEN_PORT:=8080}"
: "${NTA_DJANGO_UPSTREAM:=nta-django:8000}"
: "${NTA_FLASK_UPSTREAM:=nta-flask:5000}"
: "${NTA_DASK_UPSTREAM:=nta-dask-scheduler:8787}"
: "${NTA_STATIC_ROOT:=/srv/nta/static}"
: "${NTA_ERROR_ROOT:=/srv/nta/errors}"
: "${NTA_RUN_DIR:=/tmp/nginx}"
: "${NTA_MAX_UPLOAD_MB:=100}"
# Switches (on|off). Defaults fit a local cluster; the aws overlay's ConfigMap turns the dashboard off and trusts
# the Ingress's X-Forwarded-Proto.
: "${NTA_DASK_DASHBOARD:=on}"
: "${NTA_TRUST_FORWARDED_PROTO:=off}"
export NTA_LISTEN_PORT NTA_DJANGO_UPSTREAM NTA_FLASK_UPSTREAM NTA_DASK_UPSTREAM NTA_STATIC_ROOT NTA_ERROR_ROOT \
    NTA_RUN_DIR NTA_MAX_UPLOAD_MB NTA_DASK_DASHBOARD NTA_TRUST_FORWARDED_PROTO
for switch in NTA_DASK_DASHBOARD NTA_TRUST_FORWARDED_PROTO; do
    eval "value=\${$switch}"
    case "$value" in
        on | off) ;;
        *) echo "nta-nginx: $switch must be on or off, got '$value'" >&2; exit 1 ;;
    esac
done

render() {
    vars=$(grep -o '\${NTA_[A-Z0-9_]*}' "$NTA_TEMPLATE" | sort -u | tr '\n' ' ')
    for ref in $vars; do
        name=${ref#??}; name=${name%?}
        eval "value=\${$name-}"
        if [ -z "$value" ]; then
            echo "nta-nginx: $name is used by $NTA_TEMPLATE but not set; set it in the container environment" >&2
            exit 1
        fi
    done
    mkdir -p "$NTA_RUN_DIR"
    envsubst "$vars" <"$NTA_TEMPLATE" >"$NTA_CONF.tmp"
    mv "$NTA_CONF.tmp" "$NTA_CONF"
}

if [ "${1:-}" = render ]; then
    render
    exit 0
fi
render
if [ $# -eq 0 ]; then
    # -e stderr: nginx would otherwise try the root-only /var/log/nginx/error.log before reading the config.
    exec nginx -e stderr -c "$NTA_CONF" -g 'daemon off;'
fi
exec "$@"
