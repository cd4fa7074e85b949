"""Credentials of the local cluster: a CA and serving certificate, the service-account key pair, an admin token.

Made with the openssl CLI (present wherever apt is), once per state directory; every component and the developer
use the same admin token (a single-node throwaway cluster: simplicity over per-component identities).
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import ToolkitError

CONTEXT = "nta-local"  # listed as local by nta_dev.kube.context and the Tiltfile
SERVER = "https://127.0.0.1:6443"


@dataclass(frozen=True)
class Pki:
    dir: Path

    ca_crt = property(lambda self: self.dir / "ca.crt")
    ca_key = property(lambda self: self.dir / "ca.key")
    server_crt = property(lambda self: self.dir / "apiserver.crt")
    server_key = property(lambda self: self.dir / "apiserver.key")
    sa_key = property(lambda self: self.dir / "sa.key")
    sa_pub = property(lambda self: self.dir / "sa.pub")
    tokens = property(lambda self: self.dir / "tokens.csv")
    kubelet_client_crt = property(lambda self: self.dir / "apiserver-kubelet-client.crt")
    kubelet_client_key = property(lambda self: self.dir / "apiserver-kubelet-client.key")
    front_proxy_ca_crt = property(lambda self: self.dir / "front-proxy-ca.crt")
    front_proxy_ca_key = property(lambda self: self.dir / "front-proxy-ca.key")
    front_proxy_client_crt = property(lambda self: self.dir / "front-proxy-client.crt")
    front_proxy_client_key = property(lambda self: self.dir / "front-proxy-client.key")

    def token(self) -> str:
        return self.tokens.read_text().split(",", 1)[0]


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise ToolkitError(f"openssl {' '.join(args[:2])} failed: {result.stderr.strip()} (install openssl)")


def ensure_pki(directory: Path, service_ip: str) -> Pki:
    """Create the credentials under ``directory`` unless present (kept across `down` so kubeconfigs stay valid)."""
    pki = Pki(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not pki.ca_crt.exists():
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=nta-local-ca",
                 "-keyout", str(pki.ca_key), "-out", str(pki.ca_crt))
    if not pki.server_crt.exists():
        # SANs: how the developer (127.0.0.1/localhost) and pods (the `kubernetes` Service IP) reach the apiserver.
        sans = ("DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,"
                f"DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:{service_ip}")
        csr = directory / "apiserver.csr"
        _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver",
                 "-keyout", str(pki.server_key), "-out", str(csr))
        ext = directory / "apiserver.ext"
        ext.write_text(f"subjectAltName={sans}\nextendedKeyUsage=serverAuth\n")
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(pki.ca_crt), "-CAkey", str(pki.ca_key),
                 "-CAcreateserial", "-days", "3650", "-extfile", str(ext), "-out", str(pki.server_crt))
    if not pki.kubelet_client_crt.exists():
        # The apiserver's identity towards the kubelet (logs/exec/port-forward): the kubelet accepts only CA-signed
        # clients, so its port 10250, open on every address, grants nothing to anonymous callers.
        csr = directory / "apiserver-kubelet-client.csr"
        _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/O=system:masters/CN=kube-apiserver",
                 "-keyout", str(pki.kubelet_client_key), "-out", str(csr))
        ext = directory / "client.ext"
        ext.write_text("extendedKeyUsage=clientAuth\n")
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(pki.ca_crt), "-CAkey", str(pki.ca_key),
                 "-CAcreateserial", "-days", "3650", "-extfile", str(ext), "-out", str(pki.kubelet_client_crt))
    if not pki.front_proxy_client_crt.exists():
        # The aggregation layer: the apiserver proxies /apis/metrics.k8s.io to metrics-server with this client
        # certificate, and metrics-server trusts the user it names only when signed by this separate CA
        # (--requestheader-client-ca-file; published in kube-system/extension-apiserver-authentication).
        if not pki.front_proxy_ca_crt.exists():
            _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                     "-subj", "/CN=nta-local-front-proxy-ca", "-keyout", str(pki.front_proxy_ca_key),
                     "-out", str(pki.front_proxy_ca_crt))
        csr = directory / "front-proxy-client.csr"
        _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=front-proxy-client",
                 "-keyout", str(pki.front_proxy_client_key), "-out", str(csr))
        ext = directory / "client.ext"
        ext.write_text("extendedKeyUsage=clientAuth\n")
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(pki.front_proxy_ca_crt), "-CAkey",
                 str(pki.front_proxy_ca_key), "-CAcreateserial", "-days", "3650", "-extfile", str(ext),
                 "-out", str(pki.front_proxy_client_crt))
    if not pki.sa_key.exists():
        _openssl("genrsa", "-out", str(pki.sa_key), "2048")
        _openssl("rsa", "-in", str(pki.sa_key), "-pubout", "-out", str(pki.sa_pub))
    if not pki.tokens.exists():
        # token,user,uid,"groups": system:masters passes RBAC for every component and the developer.
        pki.tokens.write_text(f'{secrets.token_hex(24)},admin,admin,"system:masters"\n')
        pki.tokens.chmod(0o600)
    return pki


def write_kubeconfig(path: Path, pki: Pki) -> Path:
    """A kubeconfig with the single context ``nta-local`` (JSON is valid YAML and kubectl reads it)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {
            "server": SERVER,
            "certificate-authority-data": base64.b64encode(pki.ca_crt.read_bytes()).decode()}}],
        "users": [{"name": f"{CONTEXT}-admin", "user": {"token": pki.token()}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": f"{CONTEXT}-admin"}}],
        "current-context": CONTEXT,
    }
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)
    return path
