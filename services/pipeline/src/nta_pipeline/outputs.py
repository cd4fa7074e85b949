"""Writing results: the QA/QC workbook (openpyxl), one CSV per sheet, the PNG plots and summary.json.

`write_outputs` builds everything in a temporary folder beside the destination and moves it in only when
complete, so a failure never leaves a half-written result folder.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from .workflow import Results

MAX_WIDTH = 60  # the original sized columns to their longest value without a cap


def project_slug(project_name: str) -> str:
    """`<proj>` of the original file names (spaces -> `_`), also made safe for any file system."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", project_name.strip()) or "nta"


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def workbook_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An .xlsx with one sheet per frame: no index, header frozen (A2), columns sized to their content."""
    wb = Workbook(write_only=True)
    for name, df in sheets.items():
        ws = wb.create_sheet(title=name[:31])
        ws.freeze_panes = "A2"
        for idx, column in enumerate(df.columns, start=1):
            lengths = df[column].astype(str).str.len().fillna(0)  # pandas 3 keeps NaN in astype(str)
            longest = max(len(str(column)), int(lengths.max()) if len(lengths) else 0)
            ws.column_dimensions[get_column_letter(idx)].width = min(longest + 1, MAX_WIDTH)
        ws.append([str(c) for c in df.columns])
        for row in df.itertuples(index=False, name=None):
            ws.append([_cell(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def output_files(results: Results, project_name: str) -> dict[str, bytes]:
    """File name -> content of every result file (used by the CLI and by the job runner for GridFS)."""
    proj = project_slug(project_name)
    files = {f"{proj}_NTA_WebApp_QAQC.xlsx": workbook_bytes(results.sheets)}
    if results.chemical_results is not None:
        files[f"{proj}_NTA_WebApp_chemical_results.xlsx"] = workbook_bytes(
            {"Chemical Results": results.chemical_results})  # fmt: skip
        files["csv/Chemical_Results.csv"] = results.chemical_results.to_csv(index=False).encode()
    for name, df in results.sheets.items():
        files[f"csv/{re.sub(r'[^A-Za-z0-9]+', '_', name).strip('_')}.csv"] = df.to_csv(index=False).encode()
    for key, png in results.plots.items():
        files[f"{proj}_{key}.png"] = png
    files["summary.json"] = json.dumps(results.summary, indent=2, default=str).encode()
    return files


def write_outputs(results: Results, out_dir: Path, project_name: str) -> list[Path]:
    """Write all result files into out_dir atomically (all or nothing)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        written = []
        for name, content in output_files(results, project_name).items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            written.append(out_dir / name)
        if out_dir.exists() and any(out_dir.iterdir()):
            backup = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            out_dir.rename(backup)
            staging.rename(out_dir)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            if out_dir.exists():
                out_dir.rmdir()
            staging.rename(out_dir)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
