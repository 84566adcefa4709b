"""What this host offers a run: the CPU cores this process may use and whether its devices are accelerators.
`config/sizing.py` turns these facts into the "auto" actor layout."""

from __future__ import annotations

import os
from typing import NamedTuple


class HostFacts(NamedTuple):
    """The host a run sizes itself to."""

    cores: int  # CPU cores this process may run on (its affinity mask)
    accelerator: bool | None  # the default devices are GPUs or TPUs; None: not known (not looked at yet)


def host_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def this_host(multi_host: bool) -> HostFacts:
    """This process's `HostFacts`. Finding the devices starts JAX's backend, which a multi-host run must not do
    before it has joined the others (`jax.distributed.initialize`): until then its devices stay unknown."""
    import jax  # imported here: the config layer, which asks for these facts, does without JAX otherwise

    if multi_host and not jax.distributed.is_initialized():
        return HostFacts(host_cores(), None)
    return HostFacts(host_cores(), jax.default_backend() != "cpu")
