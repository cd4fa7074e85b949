"""Multi-document YAML manifests: load from a file or URL, edit container args, dump for ``kubectl apply -f -``."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ..errors import ToolkitError

Doc = dict[str, Any]
DOWNLOAD_TIMEOUT_S = 30


def parse(text: str, source: str = "<text>") -> list[Doc]:
    try:
        return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]
    except yaml.YAMLError as exc:
        raise ToolkitError(f"{source} is not valid YAML: {exc}") from None


def load(source: str | Path) -> list[Doc]:
    """Documents of a local file or an http(s) URL; errors say how to work offline (``--manifest FILE``)."""
    text_source = str(source)
    if text_source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(text_source, timeout=DOWNLOAD_TIMEOUT_S) as resp:
                text = resp.read().decode("utf-8")
        except (urllib.error.URLError, OSError, UnicodeDecodeError) as exc:
            raise ToolkitError(f"cannot download {text_source} ({exc}); download it where you can and pass "
                               "--manifest FILE") from None  # fmt: skip
    else:
        path = Path(text_source)
        if not path.is_file():
            raise ToolkitError(f"manifest file {path} does not exist; pass an existing --manifest FILE")
        text = path.read_text(encoding="utf-8")
    docs = parse(text, text_source)
    if not docs:
        raise ToolkitError(f"{text_source} contains no Kubernetes objects")
    return docs


def dump(docs: Iterable[Doc]) -> str:
    return yaml.safe_dump_all(list(docs), sort_keys=False)


def find(docs: Iterable[Doc], kind: str, name: str) -> Doc | None:
    return next((d for d in docs if d.get("kind") == kind and (d.get("metadata") or {}).get("name") == name), None)


def add_container_arg(docs: list[Doc], kind: str, name: str, container: str, arg: str) -> bool:
    """Append ``arg`` to the args of ``container`` in workload ``kind/name`` (idempotent); False if absent."""
    workload = find(docs, kind, name)
    if workload is None:
        return False
    for spec in workload.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
        if spec.get("name") == container:
            args = spec.setdefault("args", [])
            if arg not in args:
                args.append(arg)
            return True
    return False
