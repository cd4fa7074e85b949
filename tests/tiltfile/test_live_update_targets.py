"""What real Tilt's live_update writes into a running dev container has a place there: every sync() destination
exists and the image's user can write it, and every run() command is on the image's PATH.

The syncs and runs are Tilt's own account of the Tiltfile (`tilt alpha tiltfile-result`); the images are the dev
targets the images layer builds (cached when current). That the synced code is then served by the same pods is
the cluster layer's part (tests/cluster/test_tilt.py), through the real `tilt up`.
"""

from __future__ import annotations

import shlex

from nta_dev.images.build import IMAGES, build

from .result import TiltResult

# Sync destinations of the Tiltfile (at least django 2, flask 2, dask 1, nginx 3): fewer checked means a sync went
# missing from Tilt's result, not that the check passed.
MIN_SYNCS = 8
CHECK = 'for p in "$@"; do test -w "$p" || echo "not writable or missing: $p"; done'


def program(args: list[str]) -> str:
    """The program a run() step starts: Tilt keeps a string command as `sh -c CMD`."""
    return shlex.split(args[2])[0] if args[:2] == ["sh", "-c"] else args[0]


def missing_in_image(client, tag: str, paths: list[str], commands: list[str]) -> str:
    """What the check printed in a throwaway container of `tag`, run as the image's own user ('' when all is there)."""
    script = CHECK + "".join(f"; command -v {shlex.quote(c)} >/dev/null || echo 'not on PATH: {c}'" for c in commands)
    out = client.containers.run(tag, ["-c", script, "sh", *paths], entrypoint="sh", remove=True, network_mode="none")
    return out.decode().strip()


def test_every_sync_destination_and_run_command_exists_in_its_dev_image(result: TiltResult, docker_client,
                                                                        base_image: str) -> None:  # fmt: skip
    checked = 0
    for ref, target in sorted(result.images().items()):
        if target.live_update is None:
            continue
        spec = IMAGES[ref]
        tag = build(spec, target.target, base_image=base_image, client=docker_client).tag
        paths = [s.container_path for s in target.live_update.syncs]
        commands = [program(e.args) for e in target.live_update.execs]
        assert missing_in_image(docker_client, tag, paths, commands) == "", f"{ref} ({tag})"
        checked += len(paths)
    assert checked >= MIN_SYNCS, f"only {checked} sync destinations in Tilt's result"


def test_the_check_fails_for_a_path_the_user_cannot_write(docker_client, base_image: str) -> None:
    tag = build(IMAGES["nta-flask"], "dev", base_image=base_image, client=docker_client).tag
    said = missing_in_image(docker_client, tag, ["/app/services/flask/src", "/etc/nta-denied"], ["no-such-command"])
    assert said.splitlines() == ["not writable or missing: /etc/nta-denied", "not on PATH: no-such-command"]
