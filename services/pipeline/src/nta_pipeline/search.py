"""Client of the stack's chemical search API (`POST <api>/ms1/batch/<job>`), used by the workflow's
"Searching dsstox database" step. One request per batch of masses, not one per mass as in the original."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import requests

from .errors import NtaError

Searcher = Callable[[str, Sequence, float], pd.DataFrame]


class SearchError(NtaError):
    """The search API is unreachable or refused the request."""


class ApiSearcher:
    def __init__(self, base_url: str, job_id: str = "cli", *, batch_size: int = 5000, timeout: float = 120):
        self.base_url, self.job_id = base_url.rstrip("/"), job_id
        self.batch_size, self.timeout = batch_size, timeout
        self.session = requests.Session()

    def __call__(self, search_by: str, query: Sequence, accuracy: float) -> pd.DataFrame:
        frames = []
        url = f"{self.base_url}/ms1/batch/{self.job_id}"
        for start in range(0, len(query), self.batch_size):
            body = {"search_by": search_by, "query": list(query[start : start + self.batch_size]),
                    "accuracy": accuracy}  # fmt: skip
            try:
                resp = self.session.post(url, json=body, timeout=self.timeout)
            except requests.RequestException as exc:
                raise SearchError(f"search API unreachable at {url} ({exc.__class__.__name__}); start the "
                                  "stack or run without search (--no-search)") from exc  # fmt: skip
            if resp.status_code != 200:
                try:
                    detail = resp.json().get("error", resp.text[:200])
                except ValueError:
                    detail = resp.text[:200]
                raise SearchError(f"search API answered HTTP {resp.status_code}: {detail}")
            results = resp.json()["results"]
            frames.append(pd.DataFrame(results["data"], columns=results["columns"]))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
