"""`nta-ms1` imports only what it needs: nothing heavy for `params`; for `run`, no search client without a search
(checked in a fresh interpreter). matplotlib may or may not reach the main process while a plot worker draws: the
main process draws a figure the worker has not started by the time the results are written (render.RenderPool)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("pandas", "matplotlib", "requests", "xlsxwriter")
TABLE = (
    "Name,MB1,MB2,MB3,A_1,A_2,A_3,Mass,Retention Time\n"
    "x1,10,10,10,100,110,90,150.0,2.0\n"
    "x2,,,,5,7,6,250.0,3.0\n"
)


def loaded_after(code: str, workers: str = "1") -> dict[str, bool]:
    """Which HEAVY modules the main process holds after running `code`."""
    probe = f"import json, sys\n{code}\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    env = {**os.environ, "NTA_RENDER_WORKERS": workers}
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_params_imports_nothing_heavy() -> None:
    code = "from nta_pipeline import cli\ncli.main(['params'])"
    assert loaded_after(code) == dict.fromkeys(HEAVY, False)


def test_workflow_module_needs_neither_matplotlib_nor_requests() -> None:
    loaded = loaded_after("import nta_pipeline.workflow, nta_pipeline.outputs")
    assert loaded == {"pandas": True, "matplotlib": False, "requests": False, "xlsxwriter": True}


def test_run_with_a_plot_worker_searches_nothing(tmp_path: Path) -> None:
    (tmp_path / "pos.csv").write_text(TABLE)
    out = tmp_path / "out"
    code = (f"from nta_pipeline import cli\nassert cli.main(['run', '--pos', {str(tmp_path / 'pos.csv')!r}, "
            f"'--out', {str(out)!r}, '--no-search', '--quiet']) == 0")  # fmt: skip
    loaded = loaded_after(code, workers="1")
    assert {m: loaded[m] for m in ("pandas", "requests", "xlsxwriter")} == {"pandas": True, "requests": False,
                                                                             "xlsxwriter": True}  # fmt: skip
    assert sorted(p.name for p in out.glob("*.png")) == ["Example_nta_cv_scatterplot.png",
                                                          "Example_nta_occurrence_heatmap.png"]  # fmt: skip


def test_the_command_runs_main_without_the_cyclic_collector_and_exits_with_its_code() -> None:
    from importlib.metadata import entry_points

    assert entry_points(group="console_scripts")["nta-ms1"].value == "nta_pipeline.cli:console_main"
    probe = "import gc\nfrom nta_pipeline import cli\ncli.main = lambda: print(gc.isenabled()) or 3\ncli.console_main()"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout.strip()) == (3, "False"), proc.stderr
