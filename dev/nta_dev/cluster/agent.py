"""Cluster add-ons that have no image here, as one small host process: Service DNS and a hostPath provisioner.

- DNS: CoreDNS cannot be pulled, yet pods must reach Services by name (`nta-mongodb:27017`). The kubelet points
  pods at this server (``--cluster-dns``, on the docker bridge address); it answers
  ``<svc>.<ns>.svc.cluster.local`` (and ``<pod-hostname>.<svc>...`` for headless Services) from the apiserver,
  and forwards every other name to the host's resolvers.
- Storage: like docker-desktop's ``hostpath`` default StorageClass, a claim gets a world-writable directory under
  the state dir (non-root pods can write to it, which the in-tree hostPath provisioner's 0750 root dirs prevent);
  a released volume with reclaim policy Delete is removed.

Run by the cluster runtime as ``python -m nta_dev.cluster.agent --pki DIR --volumes DIR --listen IP``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import socketserver
import threading
import time
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset

from .kubeapi import KubeApi
from .pki import Pki

log = logging.getLogger("nta-agent")

CLUSTER_DOMAIN = "cluster.local"
PROVISIONER = "nta.local/hostpath"
STORAGE_CLASS = "hostpath"
TTL = 5


class ServiceTable:
    """Service name -> IPs, refreshed from the apiserver at most once per ``max_age`` seconds (on demand)."""

    def __init__(self, api: KubeApi, max_age: float = 1.0) -> None:
        self.api = api
        self.max_age = max_age
        self._names: dict[str, list[str]] = {}
        self._at = 0.0
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        names: dict[str, list[str]] = {}
        endpoints = {(e["metadata"]["namespace"], e["metadata"]["name"]): e
                     for e in self.api.get("/api/v1/endpoints")["items"]}
        for svc in self.api.get("/api/v1/services")["items"]:
            ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
            base = f"{name}.{ns}.svc.{CLUSTER_DOMAIN}"
            cluster_ip = svc["spec"].get("clusterIP")
            if cluster_ip and cluster_ip != "None":
                names[base] = [cluster_ip]
                continue
            # Headless: the ready pod IPs, and each pod by its hostname (StatefulSet pods).
            ips: list[str] = []
            for subset in (endpoints.get((ns, name)) or {}).get("subsets") or []:
                for addr in subset.get("addresses") or []:
                    ips.append(addr["ip"])
                    if addr.get("hostname"):
                        names[f"{addr['hostname']}.{base}"] = [addr["ip"]]
            names[base] = ips
        self._names = names
        self._at = time.monotonic()

    def lookup(self, name: str) -> list[str] | None:
        with self._lock:
            if time.monotonic() - self._at > self.max_age or name not in self._names:
                try:
                    self._refresh()
                except OSError as exc:
                    log.warning("apiserver unreachable: %s", exc)
        return self._names.get(name)


def upstream_servers(listen: str) -> list[str]:
    servers = []
    for line in Path("/etc/resolv.conf").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver" and parts[1] != listen:
            servers.append(parts[1])
    return servers or ["8.8.8.8"]


def answer(query: dns.message.Message, table: ServiceTable, upstream: list[str]) -> dns.message.Message:
    question = query.question[0]
    name = question.name.to_text().rstrip(".").lower()
    if name == CLUSTER_DOMAIN or name.endswith("." + CLUSTER_DOMAIN):
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        ips = table.lookup(name)
        if ips is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype in (dns.rdatatype.A, dns.rdatatype.ANY) and ips:
            response.answer.append(dns.rrset.from_text_list(question.name, TTL, "IN", "A", ips))
        return response  # AAAA of a known name: NOERROR, no data (resolvers then use the A answer)
    for server in upstream:
        try:
            return dns.query.udp(query, server, timeout=2)
        except (OSError, dns.exception.DNSException) as exc:
            log.warning("upstream %s failed for %s: %s", server, name, exc)
    response = dns.message.make_response(query)
    response.set_rcode(dns.rcode.SERVFAIL)
    return response


def serve_dns(listen: str, port: int, table: ServiceTable) -> socketserver.BaseServer:
    upstream = upstream_servers(listen)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data, sock = self.request
            try:
                query = dns.message.from_wire(data)
                response = answer(query, table, upstream)
                sock.sendto(response.to_wire(), self.client_address)
            except Exception:  # noqa: BLE001 - one bad packet must not stop the server
                log.exception("DNS query from %s failed", self.client_address)

    server = socketserver.ThreadingUDPServer((listen, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="dns").start()
    log.info("DNS for *.%s on %s:%d, upstream %s", CLUSTER_DOMAIN, listen, port, ", ".join(upstream))
    return server


def provision_once(api: KubeApi, volumes: Path) -> None:
    """Create a PV (pre-bound) for each pending claim of our class; delete released PVs of ours."""
    for pvc in api.get("/api/v1/persistentvolumeclaims")["items"]:
        spec, meta = pvc["spec"], pvc["metadata"]
        if pvc["status"].get("phase") != "Pending" or spec.get("volumeName"):
            continue
        if spec.get("storageClassName") != STORAGE_CLASS:
            continue
        name = f"pvc-{meta['uid']}"
        path = volumes / f"{meta['namespace']}-{meta['name']}-{meta['uid'][:8]}"
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o777)  # any pod user can write, as with docker-desktop's hostpath volumes
        pv = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {
            "name": name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
            "spec": {"capacity": {"storage": spec["resources"]["requests"]["storage"]},
                     "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": "Delete", "storageClassName": STORAGE_CLASS,
                     "volumeMode": spec.get("volumeMode", "Filesystem"),
                     "hostPath": {"path": str(path), "type": "Directory"},
                     "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                                  "name": meta["name"], "uid": meta["uid"]}}}
        try:
            api.request("POST", "/api/v1/persistentvolumes", pv)
            log.info("provisioned %s for %s/%s at %s", name, meta["namespace"], meta["name"], path)
        except OSError as exc:
            if getattr(exc, "code", None) != 409:  # 409: created on an earlier pass
                raise
    for pv in api.get("/api/v1/persistentvolumes")["items"]:
        annotations = pv["metadata"].get("annotations") or {}
        if annotations.get("pv.kubernetes.io/provisioned-by") != PROVISIONER:
            continue
        if pv["status"].get("phase") == "Released" and pv["spec"].get("persistentVolumeReclaimPolicy") == "Delete":
            shutil.rmtree(pv["spec"]["hostPath"]["path"], ignore_errors=True)
            api.request("DELETE", f"/api/v1/persistentvolumes/{pv['metadata']['name']}")
            log.info("deleted released %s", pv["metadata"]["name"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pki", type=Path, required=True)
    parser.add_argument("--volumes", type=Path, required=True)
    parser.add_argument("--listen", required=True, help="address pods reach the host on (docker bridge gateway)")
    parser.add_argument("--port", type=int, default=53)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    api = KubeApi(Pki(args.pki))
    serve_dns(args.listen, args.port, ServiceTable(api))
    while True:
        try:
            provision_once(api, args.volumes)
        except Exception:  # noqa: BLE001 - the apiserver may restart; keep serving DNS
            log.exception("provisioner pass failed")
        time.sleep(1)


if __name__ == "__main__":
    main()
