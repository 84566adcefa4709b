"""Where a new run writes when its config names no workdir."""

from __future__ import annotations

import os
import time

from hsuanwu_jax.parallel.hosts import process_values


def new_run_directory(parent: str) -> str:
    """A directory for a new run, `<parent>/<date>-<time>[-n]`, not yet on disk; every process of a
    multi-host run gets the same one (process 0's clock and choice)."""
    stamp = process_values(int(time.time()))[0]
    base = os.path.join(parent, time.strftime("%Y%m%d-%H%M%S", time.localtime(stamp)))
    suffix = 1
    while os.path.exists(base if suffix == 1 else f"{base}-{suffix}"):
        suffix += 1
    suffix = process_values(suffix)[0]
    return base if suffix == 1 else f"{base}-{suffix}"
