"""Output-writing benchmark: seconds for `output_files` (workbooks + CSVs + PNGs) on synthetic tables.

Numbers only: this never passes or fails. `--engines` also times other ways to write the same QA/QC workbook:
`openpyxl` (the previous writer, kept here only for comparison), `xlsxwriter` (its cell API in constant_memory
mode) and `pandas` (`DataFrame.to_excel(engine="xlsxwriter")`). Run:
`python benchmarks/bench_outputs.py [--sizes 5900x57,50000x60] [--engines new,openpyxl,xlsxwriter,pandas]`.
Times are wall-clock seconds; CPU seconds (all threads) in brackets.
"""

from __future__ import annotations

import argparse
import io
import math
import time
from collections.abc import Callable

import pandas as pd
from bench_workflow import synthetic_table  # beside this script, so on sys.path when run as a script

from nta_pipeline import Inputs, Parameters, run_workflow
from nta_pipeline.outputs import MAX_WIDTH, column_width, output_files, workbook_bytes


def openpyxl_workbook(sheets: dict[str, pd.DataFrame]) -> bytes:
    """The previous writer (openpyxl write-only, one Python value per cell), for comparison only."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    def cell(value: object) -> object:
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return None
        return value.item() if hasattr(value, "item") else value

    wb = Workbook(write_only=True)
    for name, df in sheets.items():
        ws = wb.create_sheet(title=name[:31])
        ws.freeze_panes = "A2"
        for idx, column in enumerate(df.columns, start=1):
            lengths = df[column].astype(str).str.len().fillna(0)
            longest = max(len(str(column)), int(lengths.max()) if len(lengths) else 0)
            ws.column_dimensions[get_column_letter(idx)].width = min(longest + 1, MAX_WIDTH)
        ws.append([str(c) for c in df.columns])
        for row in df.itertuples(index=False, name=None):
            ws.append([cell(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsxwriter_workbook(sheets: dict[str, pd.DataFrame]) -> bytes:
    """xlsxwriter's cell API, row by row in constant_memory mode, with the same cell rules."""
    import xlsxwriter

    buf = io.BytesIO()
    options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    with xlsxwriter.Workbook(buf, options) as wb:
        for name, df in sheets.items():
            ws = wb.add_worksheet(name[:31])
            ws.freeze_panes(1, 0)
            for idx, header in enumerate(df.columns):
                ws.set_column(idx, idx, column_width(header, df.iloc[:, idx]))
            ws.write_row(0, 0, [str(c) for c in df.columns])
            columns = [
                df.iloc[:, i].astype(object).where(df.iloc[:, i].notna(), None).tolist() for i in range(df.shape[1])
            ]
            for r, row in enumerate(zip(*columns, strict=True), start=1):
                for c, value in enumerate(row):
                    if isinstance(value, str):
                        if value:
                            ws.write_string(r, c, value)
                    elif value is not None and not (isinstance(value, float) and not math.isfinite(value)):
                        ws.write(r, c, value)
    return buf.getvalue()


def pandas_workbook(sheets: dict[str, pd.DataFrame]) -> bytes:
    """pandas' own Excel export through xlsxwriter (frozen header, no index)."""
    buf = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(buf, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        for name, df in sheets.items():
            df.to_excel(writer, sheet_name=name[:31], index=False, freeze_panes=(1, 0))
    return buf.getvalue()


ENGINES: dict[str, Callable[[dict[str, pd.DataFrame]], bytes]] = {
    "new": workbook_bytes,
    "openpyxl": openpyxl_workbook,
    "xlsxwriter": xlsxwriter_workbook,
    "pandas": pandas_workbook,
}


def timed(fn: Callable[[], object]) -> tuple[object, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def report(n_features: int, n_injections: int, engines: list[str]) -> None:
    inputs = Inputs(pos=synthetic_table(n_features, n_injections), names={"pos": "synthetic.csv"})
    results = run_workflow(inputs, Parameters(search_dsstox="no"))
    cells = sum(df.size for df in results.sheets.values())
    print(f"\n== synthetic {n_features} x {n_injections}: {len(results.sheets)} sheets, {cells:,} cells")
    plots = {s["name"]: s["seconds"] for s in results.summary["steps"] if s["name"].startswith("Create")}
    print("  plots (in the workflow): " + ", ".join(f"{k[7:]} {v:.3f} s" for k, v in plots.items()))
    files, wall, cpu = timed(lambda: output_files(results, "bench"))
    size = sum(len(v) for k, v in files.items() if k.endswith(".xlsx"))
    print(f"  {'output_files (workbook + CSVs + PNGs)':42} {wall:7.3f} s  [{cpu:.3f}]   xlsx {size / 1e6:.1f} MB")
    _, wall, cpu = timed(lambda: [df.to_csv(index=False) for df in results.sheets.values()])
    print(f"  {'  of which CSVs (DataFrame.to_csv)':42} {wall:7.3f} s  [{cpu:.3f}]")
    for engine in engines:
        xlsx, wall, cpu = timed(lambda e=engine: ENGINES[e](results.sheets))
        print(f"  {'QA/QC workbook: ' + engine:42} {wall:7.3f} s  [{cpu:.3f}]   {len(xlsx) / 1e6:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="5900x57,50000x60", help="comma list of FEATURESxINJECTIONS")
    parser.add_argument(
        "--engines", default="new", help=f"comma list of workbook writers to time: {', '.join(ENGINES)}"
    )
    args = parser.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    if unknown := set(engines) - set(ENGINES):
        parser.error(f"unknown engine(s) {sorted(unknown)}; choose from {', '.join(ENGINES)}")
    for size in args.sizes.split(","):
        n, s = (int(x) for x in size.split("x"))
        report(n, s, engines)


if __name__ == "__main__":
    main()
