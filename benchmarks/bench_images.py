"""Image build benchmark: cold and warm build seconds per image and target, and image sizes.

Numbers only: this never passes or fails (tests/images asserts the cache behaviour). Run:
`python benchmarks/bench_images.py [--images nta-flask,nta-django] [--targets dev,prod] [--no-cold] [--base]`.

- cold: `docker build --no-cache` (every layer, including the pip install of the dependencies from PyPI);
- warm: after appending a comment to one source file of the service (a code-only change), which must reuse the
  dependency layer: the issue's target is <= 10 s for a Python image;
- base (with --base): re-importing the offline base image from its cached rootfs tarball (`--fresh-base` also
  re-runs debootstrap).

Builds run on a copy of the build inputs under a temporary folder and are tagged `<image>:bench-<target>`, so the
checkout and the images other tools use stay untouched.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from nta_dev.images.base import DEFAULT_TAG, docker_client, ensure_base_image
from nta_dev.images.build import IMAGES, TARGETS, build, copy_build_inputs

# The file a code-only change touches, per image.
CODE_FILE = {"nta-flask": "services/flask/src/nta_api/app.py", "nta-django": "services/django/src/nta_web/views.py",
             "nta-dask": "services/pipeline/src/nta_pipeline/runner.py",
             "nta-nginx": "services/nginx/nginx.conf.template"}  # fmt: skip
WARM_TARGET_S = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", default=",".join(IMAGES), help="comma-separated image names")
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated targets")
    parser.add_argument("--base-image", default=DEFAULT_TAG, help="BASE_IMAGE build arg")
    parser.add_argument("--no-cold", action="store_true", help="skip the --no-cache builds")
    parser.add_argument("--base", action="store_true", help="also time the offline base image import")
    parser.add_argument("--fresh-base", action="store_true", help="with --base: re-run debootstrap too")
    args = parser.parse_args(argv)
    client = docker_client()
    if args.base or args.fresh_base:
        started = time.monotonic()
        ensure_base_image(args.base_image, force=True, fresh=args.fresh_base, log=lambda _line: None)
        kind = "debootstrap + import" if args.fresh_base else "import from cached rootfs"
        print(f"base image {args.base_image}: {time.monotonic() - started:.1f} s ({kind})")
    elif args.base_image == DEFAULT_TAG:
        ensure_base_image(args.base_image, log=lambda _line: None)

    print(f"{'image':12} {'target':6} {'cold s':>7} {'warm s':>7} {'deps reused':>11} {'size MB':>8}")
    slow = []
    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
        root = copy_build_inputs(Path(tmp))
        for name in args.images.split(","):
            spec = IMAGES[name]
            for target in args.targets.split(","):
                tag = f"{name}:bench-{target}"
                cold = "-"
                if not args.no_cold:
                    cold = f"{build(spec, target, base_image=args.base_image, tag=tag, client=client, root=root, nocache=True).seconds:.1f}"  # noqa: E501
                else:  # warm needs a cached starting point
                    build(spec, target, base_image=args.base_image, tag=tag, client=client, root=root)
                with (root / CODE_FILE[name]).open("a") as fh:
                    fh.write(f"\n# bench_images {time.time()}\n")
                warm = build(spec, target, base_image=args.base_image, tag=tag, client=client, root=root)
                hits = warm.cached("RUN python3 -c") or warm.cached("RUN apt-get")
                reused = "yes" if hits and all(hits) else "NO"
                size = client.images.get(tag).attrs["Size"] / 1e6
                print(f"{name:12} {target:6} {cold:>7} {warm.seconds:7.1f} {reused:>11} {size:8.0f}", flush=True)
                if warm.seconds > WARM_TARGET_S or reused != "yes":
                    slow.append(tag)
                client.images.remove(tag, force=True)
    if slow:
        print(f"over the {WARM_TARGET_S:.0f} s warm target or deps layer rebuilt: {', '.join(slow)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
