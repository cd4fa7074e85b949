"""`inv seed`: stream the CSV into the Flask pod on a cluster; load it straight into MongoDB with a URL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from pymongo import MongoClient

from nta_dev.errors import ToolkitError
from nta_dev.kube.context import Kubectl
from nta_dev.kube.seed import seed_cluster, seed_local

from .fakes import LOCAL, FakeKubectl, assert_context_everywhere

CSV = "DTXSID,PREFERRED_NAME,CASRN,MOLECULAR_FORMULA,MONOISOTOPIC_MASS\n" \
      "DTXSID7020182,Bisphenol A,80-05-7,C15H16O2,228.115029\n" \
      "DTXSID3031864,Perfluorooctanoic acid,335-67-1,C8HF15O2,413.973686\n"  # fmt: skip


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "reference.csv"
    path.write_text(CSV)
    return path


def test_cluster_seed_streams_the_file_into_the_flask_pod(kubectl_on: Callable[[str], Kubectl],
                                                          fake_kubectl: FakeKubectl, csv: Path) -> None:  # fmt: skip
    seed_cluster(kubectl_on(LOCAL), csv, "nta", replace=True)
    (call,) = fake_kubectl.cluster_calls()
    assert call.args == ["exec", "-i", "-n", "nta", "deploy/nta-flask", "--", "nta-load-reference", "-", "--replace"]
    assert call.stdin == CSV
    assert_context_everywhere(fake_kubectl.calls(), LOCAL)


def test_cluster_seed_failure_says_where_to_look(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl,
                                                 csv: Path) -> None:  # fmt: skip
    fake_kubectl.respond("exec", stderr="error: reference.csv row 3, column MOLECULAR_FORMULA: ...\n", rc=1)
    with pytest.raises(ToolkitError, match=r"failed \(exit 1\).*\./inv status"):
        seed_cluster(kubectl_on(LOCAL), csv, "nta")


def test_missing_csv_is_refused_before_any_call(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl,
                                                tmp_path: Path) -> None:  # fmt: skip
    with pytest.raises(ToolkitError, match="does not exist"):
        seed_cluster(kubectl_on(LOCAL), tmp_path / "absent.csv", "nta")
    assert fake_kubectl.calls() == []


def test_local_seed_loads_into_mongodb(mongo_url: str, csv: Path) -> None:
    db_name = f"nta_test_seed_{uuid.uuid4().hex[:8]}"
    client: MongoClient = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    try:
        assert seed_local(mongo_url, csv, db_name) == 2
        names = sorted(d["PREFERRED_NAME"] for d in client[db_name]["reference_compounds"].find())
        assert names == ["Bisphenol A", "Perfluorooctanoic acid"]
        with pytest.raises(ToolkitError, match="already in"):
            seed_local(mongo_url, csv, db_name)  # appending the same DTXSIDs again is refused...
        assert seed_local(mongo_url, csv, db_name, replace=True) == 2  # ...replacing is not
    finally:
        client.drop_database(db_name)
        client.close()
