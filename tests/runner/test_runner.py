"""run_job on the shipped export, failures that name their step, and submission to a real Dask scheduler."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

from nta_pipeline.jobstore import JobStore
from nta_pipeline.params import Parameters
from nta_pipeline.runner import RunnerSettings, SubmitError, close_clients, result_files, run_job, submit


def _inputs(d: Path) -> dict[str, tuple[str, bytes]]:
    files = {"pos": "pooled_blood_pos_MPP.csv", "neg": "pooled_blood_neg_MPP.csv",
             "tracers": "pooled_blood_tracers.csv",
             "run_sequence_pos": "pooled_blood_run_sequence_pos.csv",
             "run_sequence_neg": "pooled_blood_run_sequence_neg.csv"}  # fmt: skip
    return {role: (name, (d / name).read_bytes()) for role, name in files.items()}


def _settings(store: JobStore, mongo_url: str, api_url: str = "") -> RunnerSettings:
    return RunnerSettings(mongo_url=mongo_url, db_name=store.db.name, api_url=api_url, lease_seconds=30)


def test_run_job_on_the_shipped_export(store: JobStore, mongo_url: str, ms1_data: Path) -> None:
    params = Parameters(project_name="Pooled blood", search_dsstox="no").as_dict()
    job_id = store.create_job("Pooled blood", params, _inputs(ms1_data))
    assert run_job(job_id, _settings(store, mongo_url)) == "completed"
    doc = store.get(job_id)
    assert doc["status"] == "completed" and doc["error"] is None and doc["attempts"] == 1
    names = set(doc["results"])
    assert {"workbook", "csv_zip", "summary", "plot_occurrence_heatmap", "plot_cv_scatterplot",
            "table_Final_Occurrence_Matrix", "table_Tracer_Summary"} <= names  # fmt: skip
    assert "chemical_workbook" not in names  # search was off
    entry, stream = store.open_result(job_id, "workbook")
    assert entry["filename"] == "Pooled_blood_NTA_WebApp_QAQC.xlsx" and stream.read(2) == b"PK"
    _, png = store.open_result(job_id, "plot_occurrence_heatmap")
    assert png.read(8) == b"\x89PNG\r\n\x1a\n"
    _, z = store.open_result(job_id, "csv_zip")
    with zipfile.ZipFile(io.BytesIO(z.read())) as zf:
        assert "Final_Occurrence_Matrix.csv" in zf.namelist()
    assert doc["summary"]["final_features"] > 0


def test_bad_input_fails_with_the_step_and_the_readers_message(store: JobStore, mongo_url: str) -> None:
    pos = b"Feature,Formula,Score,Mass,Retention_Time,Sample_1,Sample_2,MB_1,MB_2\n1,,,100.1,1.0,5,abc,1,1\n"
    job_id = store.create_job("p", Parameters(search_dsstox="no").as_dict(), {"pos": ("mine.csv", pos)})
    assert run_job(job_id, _settings(store, mongo_url)) == "failed"
    error = store.get(job_id)["error"]
    assert "mine.csv" in error["message"] and "Sample_2" in error["message"], error
    assert error["step"] != "Completed"


def test_unreachable_search_api_fails_the_search_step(store: JobStore, mongo_url: str, ms1_data: Path) -> None:
    inputs = {k: v for k, v in _inputs(ms1_data).items() if k == "pos"}
    job_id = store.create_job("p", Parameters(search_dsstox="yes").as_dict(), inputs)
    settings = RunnerSettings(mongo_url=mongo_url, db_name=store.db.name, api_url="http://127.0.0.1:9/nta/rest",
                              lease_seconds=30, search_retries=1)  # fmt: skip
    assert run_job(job_id, settings) == "failed"
    error = store.get(job_id)["error"]
    assert error["step"] == "Searching dsstox database" and "unreachable" in error["message"]
    assert "2 attempt(s)" in error["message"], error  # one resend (tests/runner/test_faults.py: riding one out)


def test_result_names() -> None:
    files = {"P_NTA_WebApp_QAQC.xlsx": b"a", "P_NTA_WebApp_chemical_results.xlsx": b"b", "csv/Tracer_Summary.csv": b"c",
             "P_tracer_plot_pos_1.png": b"d", "summary.json": b"{}"}  # fmt: skip
    named = result_files(files, "P")
    assert set(named) == {"workbook", "chemical_workbook", "table_Tracer_Summary", "plot_tracer_plot_pos_1",
                          "summary", "csv_zip"}  # fmt: skip
    assert named["table_Tracer_Summary"].content_type == "text/csv"
    assert named["csv_zip"].filename == "P_csv.zip"


def test_submit_to_an_unreachable_scheduler_says_so() -> None:
    started = time.monotonic()
    with pytest.raises(SubmitError, match="is the scheduler running"):
        submit("abc", "tcp://127.0.0.1:9", timeout=1.0)
    assert time.monotonic() - started < 15


def test_submit_runs_the_job_on_a_real_dask_worker(store: JobStore, mongo_url: str, ms1_data: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from distributed import LocalCluster

    # The worker process reads the contract's environment, as in the stack.
    monkeypatch.setenv("NTA_MONGO_URL", mongo_url)
    monkeypatch.setenv("NTA_DB_NAME", store.db.name)
    monkeypatch.delenv("NTA_API_URL", raising=False)
    inputs = {k: v for k, v in _inputs(ms1_data).items() if k in ("pos", "run_sequence_pos")}
    job_id = store.create_job("p", Parameters(search_dsstox="no").as_dict(), inputs)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        try:
            submit(job_id, cluster.scheduler_address)
            deadline = time.monotonic() + 120
            while store.get(job_id)["status"] not in ("completed", "failed") and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            close_clients()  # submit's cached client, before its scheduler goes
    doc = store.get(job_id)
    assert doc["status"] == "completed", doc["error"]


def _fork_servers() -> list[int]:
    """Pids of this process's multiprocessing fork servers."""
    import psutil

    return [c.pid for c in psutil.Process().children() if "multiprocessing.forkserver" in " ".join(c.cmdline())]


def _first_render_process_parent() -> int:
    """The parent pid of the first render process this worker starts for a job (runner.run_job's pool)."""
    import os

    from nta_pipeline.render import plot_workers

    with plot_workers("forkserver") as pool:
        assert pool is not None, "this worker draws in-process: no render process to look at"
        return pool.submit(os.getppid).result()[1]


def test_a_worker_with_the_preload_starts_its_fork_server_before_its_first_job(monkeypatch) -> None:
    """`--preload nta_pipeline.worker` (the Deployment's command): the server that forks the render processes is up
    when the worker starts, so the first job does not wait about 1 s for it; that job's render process is its
    child. Without the preload the worker has no fork server until its first job."""
    import dask
    from distributed import Client, LocalCluster

    monkeypatch.setenv("NTA_RENDER_WORKERS", "1")  # a render process even where the machine has one CPU
    with dask.config.set({"distributed.worker.daemon": False}), \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                         preload=["nta_pipeline.worker"]) as cluster, \
            Client(cluster) as client:  # fmt: skip
        (servers,) = client.run(_fork_servers).values()
        assert len(servers) == 1, f"fork servers at worker start: {servers}"
        (parent,) = client.run(_first_render_process_parent).values()
        assert parent == servers[0]
        assert list(client.run(_fork_servers).values()) == [servers]  # still the one, no second server
    with dask.config.set({"distributed.worker.daemon": False}), \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:  # fmt: skip
        assert list(client.run(_fork_servers).values()) == [[]]  # the control: this test can fail
