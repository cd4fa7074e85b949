"""`./inv up`: the dev loop. Tilt on a local cluster when it can; otherwise the stack as local processes."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from invoke import Context

from ..errors import ToolkitError
from ..kube.context import KubeConfig, load_kubeconfig
from ..services import debug_ports
from ..tools import find

REPO = Path(__file__).resolve().parents[3]


def choose_runner(cfg: KubeConfig, tilt: str | None, tiltfile: Path, force_local: bool = False) -> tuple[str, str]:
    """("tilt" | "local", why): Tilt needs the binary, a Tiltfile and a local current context."""
    if force_local:
        return "local", "--local was given"
    if tilt is None:
        return "local", "tilt is not on PATH (https://docs.tilt.dev/install.html)"
    if not tiltfile.is_file():
        return "local", f"there is no {tiltfile.name} in {tiltfile.parent}"
    if cfg.current is None:
        return "local", "there is no current kube context"
    ctx = cfg.get(cfg.current)
    if ctx is None or not ctx.local:
        return "local", f"the current context {cfg.current!r} is not local (Tilt would refuse it)"
    return "tilt", f"the current context {cfg.current!r} is local and tilt is on PATH"


def _is_terminal(stream: object) -> bool:
    try:
        return bool(stream is not None and stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def run_up(c: Context, force_local: bool = False, port_offset: int = 0, tiltfile: Path = REPO / "Tiltfile",
           debug: Sequence[str] = (), debugger: str = "dap") -> int:
    """Start the chosen dev loop in the foreground; returns its exit code. `debug` names the services to run under
    a debugger (dev/services.yaml); `debugger` is "dap" (debugpy listens) or "pycharm" (local stack only)."""
    unknown = sorted(set(debug) - set(debug_ports()))
    if unknown:
        raise ToolkitError(f"--debug {', '.join(unknown)}: choose from {', '.join(debug_ports())}")
    cfg = load_kubeconfig()
    tilt = find("tilt")
    runner, why = choose_runner(cfg, tilt, tiltfile, force_local)
    if runner == "tilt" and debugger != "dap":
        raise ToolkitError(f"--debugger {debugger} works with the local stack only (a pod would have to dial your "
                           "IDE); add --local, or debug through Tilt with a DAP client (VS Code; README \"Debugging\")")
    if runner == "tilt":
        print(f"nta: starting Tilt because {why}; `./inv up --local` runs the local stack instead", flush=True)
        # --context pins Tilt to the context checked above even if the current context changes meanwhile.
        argv = [str(tilt), "up", "--context", str(cfg.current), "--file", str(tiltfile)]
        if debug:  # Tiltfile config args: `tilt up -- --debug django`
            argv += ["--", *[arg for service in debug for arg in ("--debug", service)]]
        # A terminal gets Tilt's interactive UI; otherwise (CI, tests) plain output and no stdin.
        interactive = _is_terminal(sys.stdin)
        result = c.run(shlex.join(argv), pty=interactive, in_stream=None if interactive else False, warn=True)
        return result.exited
    print(f"nta: starting the local stack (no cluster) because {why}", flush=True)
    from .local import StackConfig, StackError, run_local_stack

    try:
        return run_local_stack(StackConfig(port_offset=port_offset, debug=tuple(debug), debugger=debugger))
    except StackError as exc:
        raise ToolkitError(str(exc)) from None
