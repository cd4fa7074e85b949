"""The local stack runs the Dask scheduler and worker with the commands every other stack runs (the nta-dask
image's CMD, the worker Deployment's command with the dev overlay's reloader), adapted only to host addresses;
nta_dev.images.dockerfile reads the CMD."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from nta_dev.errors import ToolkitError
from nta_dev.images.dockerfile import cmd
from nta_dev.stack.local import StackConfig, dask_scheduler_argv, dask_worker_argv, drop_option, set_option


def option(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_the_scheduler_runs_the_images_cmd_on_local_addresses(tmp_path: Path) -> None:
    cfg = StackConfig(port_offset=100, state_dir=tmp_path)
    argv = dask_scheduler_argv(cfg)
    assert Path(argv[0]).name == "dask" and argv[1] == "scheduler"
    # What the image's scheduler does, stated here: the dashboard under /nta/dask and the job reaper.
    assert option(argv, "--dashboard-prefix") == "/nta/dask"
    assert option(argv, "--preload") == "nta_pipeline.reaper"
    assert option(argv, "--host") == "127.0.0.1"
    assert option(argv, "--port") == str(cfg.port("scheduler"))
    assert option(argv, "--dashboard-address") == f"127.0.0.1:{cfg.port('dashboard')}"
    assert argv.count("--port") == 1 and argv.count("--dashboard-address") == 1


def test_the_worker_runs_the_deployments_command_as_one_local_process(tmp_path: Path) -> None:
    cfg = StackConfig(port_offset=100, state_dir=tmp_path, worker_threads=3)
    argv = dask_worker_argv(cfg, "tcp://127.0.0.1:8886")
    assert argv[1:3] == ["worker", "tcp://127.0.0.1:8886"]
    assert option(argv, "--memory-limit") == "0"  # the Deployment's: no Dask spilling
    preloads = [argv[i + 1] for i, a in enumerate(argv) if a == "--preload"]
    # the Deployment's warm start, then the dev overlay's in-place reloader (which relies on the first's imports)
    assert preloads == ["nta_pipeline.worker", "nta_devserver.dask"]
    assert option(argv, "--nthreads") == "3" and argv.count("--nthreads") == 1
    assert option(argv, "--local-directory") == str(tmp_path / "dask")
    assert "--no-nanny" in argv and "--no-dashboard" in argv
    assert "--name" not in argv and "$(POD_NAME)" not in argv and "--dashboard-address" not in argv


def test_options_are_replaced_added_or_dropped() -> None:
    argv = ["dask", "worker", "--nthreads", "1", "--name", "x"]
    assert set_option(argv, "--nthreads", "2") == ["dask", "worker", "--nthreads", "2", "--name", "x"]
    assert set_option(argv, "--host", "h") == [*argv, "--host", "h"]
    assert set_option(set_option(argv, "--no-nanny"), "--no-nanny") == [*argv, "--no-nanny"]
    assert drop_option(argv, "--name") == ["dask", "worker", "--nthreads", "1"]
    assert drop_option(argv, "--absent") == argv


def test_cmd_reads_the_one_exec_form_cmd_across_continuation_lines(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text('FROM x AS deps\n# CMD ["not", "this"]\nCMD ["dask", "scheduler", \\\n'
                          '     "--port", "8786"]\nFROM deps AS dev\n')  # fmt: skip
    assert cmd(dockerfile) == ["dask", "scheduler", "--port", "8786"]


@pytest.mark.parametrize("text", ["FROM x\n", 'FROM x\nCMD ["a"]\nFROM x AS y\nCMD ["b"]\n', "FROM x\nCMD a b\n",
                                  'FROM x\nCMD [1, 2]\n'])  # fmt: skip
def test_cmd_refuses_none_two_or_a_shell_form(tmp_path: Path, text: str) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(text)
    with pytest.raises(ToolkitError, match="CMD"):
        cmd(dockerfile)


def test_the_commands_are_shell_safe(tmp_path: Path) -> None:
    cfg = StackConfig(port_offset=100, state_dir=tmp_path / "a dir with spaces")
    line = shlex.join(dask_worker_argv(cfg, "tcp://127.0.0.1:8886"))
    assert shlex.split(line)[-3:] == [str(tmp_path / "a dir with spaces" / "dask"), "--no-nanny", "--no-dashboard"]
