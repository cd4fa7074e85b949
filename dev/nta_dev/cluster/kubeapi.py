"""A minimal client of the local apiserver (urllib + the admin token): enough for readiness checks and the agent."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from .pki import SERVER, Pki


class KubeApi:
    def __init__(self, pki: Pki, server: str = SERVER, timeout: float = 5.0) -> None:
        self.server = server
        self.timeout = timeout
        self._token = pki.token()
        self._ssl = ssl.create_default_context(cafile=str(pki.ca_crt))

    def request(self, method: str, path: str, body: dict | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self._token}", "Content-Type": "application/json",
            "Accept": "application/json"})
        with urllib.request.urlopen(req, context=self._ssl, timeout=self.timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode()

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def healthy(self) -> bool:
        try:
            return self.get("/readyz") == "ok"
        except (OSError, urllib.error.URLError, ValueError):
            return False
