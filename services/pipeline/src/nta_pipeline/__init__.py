"""nta_pipeline: the MS1 non-targeted-analysis workflow (QA/QC, statistics, annotation), pure Python.

Entry points: `run_workflow(Inputs(...), Parameters(...))`, `write_outputs`, and the `nta-ms1` CLI.
"""

from .errors import InputError, NtaError, ParameterError, StepError
from .params import Parameters
from .workflow import STEPS, Inputs, Results, run_workflow

__all__ = ["STEPS", "InputError", "Inputs", "NtaError", "ParameterError", "Parameters", "Results", "StepError",
           "run_workflow"]
