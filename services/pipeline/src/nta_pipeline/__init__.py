"""nta_pipeline: the MS1 non-targeted-analysis workflow (QA/QC, statistics, annotation), pure Python.

Entry points: `run_workflow(Inputs(...), Parameters(...))`, `write_outputs`, and the `nta-ms1` CLI.
The workflow names are imported lazily: the web services import `nta_pipeline.params` and the readers on every
(re)start, and should not pay for matplotlib and the whole workflow there.
"""

from importlib import import_module
from typing import Any

from .errors import InputError, NtaError, ParameterError, StepError
from .params import Parameters

_LAZY = {"STEPS": "workflow", "Inputs": "workflow", "Results": "workflow", "run_workflow": "workflow"}

__all__ = ["STEPS", "InputError", "Inputs", "NtaError", "ParameterError", "Parameters", "Results", "StepError",
           "run_workflow"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
