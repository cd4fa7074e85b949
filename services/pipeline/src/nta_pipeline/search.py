"""Client of the stack's chemical search API (`POST <api>/ms1/batch/<job>`), used by the workflow's
"Searching dsstox database" step. One request per batch of masses, not one per mass as in the original.

The API may be away for a few seconds (a Flask pod restarting, a rollout): urllib3's Retry resends a request that
could not connect or got 502/503/504, with exponential backoff (DEFAULT_RETRIES resends, about 30 s in all). The
search is a read, so resending the POST is safe. After that the step fails, naming the API and the attempts."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import NtaError

Searcher = Callable[[str, Sequence, float], pd.DataFrame]

DEFAULT_RETRIES = 7
BACKOFF_FACTOR_S = 0.5  # sleeps 0, 1, 2, 4, 8, 8, 8 s between attempts (urllib3 2: the first retry is immediate)
BACKOFF_MAX_S = 8.0
CONNECT_TIMEOUT_S = 5.0
RETRY_STATUSES = (502, 503, 504)  # a proxy or Service without a ready Flask behind it


def backoff_seconds(retries: int) -> float:
    """Total sleep of `retries` resends: how long an outage the client rides out (plus each attempt's own time)."""
    return sum(0.0 if n <= 1 else min(BACKOFF_FACTOR_S * 2 ** (n - 1), BACKOFF_MAX_S) for n in range(1, retries + 1))


class SearchError(NtaError):
    """The search API is unreachable or refused the request."""


class ApiSearcher:
    def __init__(self, base_url: str, job_id: str = "cli", *, batch_size: int = 5000, timeout: float = 120,
                 retries: int = DEFAULT_RETRIES):  # fmt: skip
        self.base_url, self.job_id = base_url.rstrip("/"), job_id
        self.batch_size, self.timeout, self.retries = batch_size, timeout, retries
        self.session = requests.Session()
        retry = Retry(total=retries, connect=retries, status=retries,
                      read=min(retries, 1),  # a read timeout already waited `timeout`: resend once at most
                      other=0, allowed_methods=frozenset({"POST"}), status_forcelist=RETRY_STATUSES,
                      backoff_factor=BACKOFF_FACTOR_S, backoff_max=BACKOFF_MAX_S,
                      respect_retry_after_header=False,  # keep the bound: no server-chosen sleeps
                      raise_on_status=False)  # fmt: skip  # the last 5xx reaches us and is reported with its body
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def __call__(self, search_by: str, query: Sequence, accuracy: float) -> pd.DataFrame:
        frames = []
        url = f"{self.base_url}/ms1/batch/{self.job_id}"
        attempts = f"{self.retries + 1} attempt(s) over about {backoff_seconds(self.retries):.0f} s"
        for start in range(0, len(query), self.batch_size):
            body = {"search_by": search_by, "query": list(query[start : start + self.batch_size]),
                    "accuracy": accuracy}  # fmt: skip
            try:
                resp = self.session.post(url, json=body, timeout=(CONNECT_TIMEOUT_S, self.timeout))
            except requests.RequestException as exc:
                raise SearchError(f"the chemical search API was unreachable at {url} ({exc.__class__.__name__}, "
                                  f"{attempts}); check that the search API (nta-flask) is running, or run without "
                                  "search (--no-search)") from exc  # fmt: skip
            if resp.status_code != 200:
                try:
                    detail = resp.json().get("error", resp.text[:200])
                except ValueError:
                    detail = resp.text[:200]
                again = f" ({attempts})" if resp.status_code in RETRY_STATUSES else ""
                raise SearchError(f"the chemical search API answered HTTP {resp.status_code}{again}: {detail}")
            results = resp.json()["results"]
            frames.append(pd.DataFrame(results["data"], columns=results["columns"]))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
