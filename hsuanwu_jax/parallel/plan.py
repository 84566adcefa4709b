"""The run plan: what a run will use, decided from its settings, its envs and the devices it sees.

`plan_run` is pure (devices are passed in), so every choice it makes is testable without starting
actors or compiling anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
from jax.sharding import Mesh

from hsuanwu_jax.config.settings import Settings
from hsuanwu_jax.core.spec import EnvSpec
from hsuanwu_jax.parallel.mesh import learner_mesh, select_devices

XLA_ACTOR_PLATFORMS = ("cpu", "gpu", "cuda", "rocm")  # where EnvPool's XLA custom calls exist


CONV_ENCODERS = ("nature_cnn", "resnet")


class RunPlan(NamedTuple):
    """Devices, mesh and modes of one run, with "auto" and 0 settings resolved."""

    mesh: Mesh  # the learner mesh: one `BATCH_AXIS` over every learner device (all processes')
    local_learners: int  # learner devices of this process
    actor_device: jax.Device  # where actors keep their params and run the policy
    actor_mode: str  # "xla" (each rollout one jitted scan) or "python"
    learner_chunks: int  # sequential pieces of each learner device's batch
    learner_chunks_per_call: int  # pieces per call of the one compiled learner piece program

    def learner_summary(self) -> str:
        """The learner's devices and pieces, in words (printed when a run starts)."""
        devices = self.mesh.devices.size
        platform = self.mesh.devices.flat[0].platform
        pieces = f"{self.learner_chunks} piece{'s' * (self.learner_chunks > 1)}"
        return f"Learner: {devices} {platform} device{'s' * (devices > 1)}, each batch share in {pieces}"


def plan_run(
    settings: Settings,
    spec: EnvSpec,
    *,
    envs_have_xla: bool,
    local_devices: Sequence[jax.Device],
    global_devices: Sequence[jax.Device],
) -> RunPlan:
    """The plan for `settings` and envs of `spec` (`envs_have_xla`: all are EnvPool envs with an
    XLA interface), on this process's `local_devices` and the run's `global_devices`.

    Raises ValueError, naming the field, for an encoder that does not fit the observations, a batch that
    cannot be split over the learner devices, into `num_minibatches` or into `learner_chunks`, unknown device ids, and an XLA actor mode on a device without it.
    """
    if spec.is_image != (settings.encoder in CONV_ENCODERS):
        accepted = "'nature_cnn' or 'resnet'" if spec.is_image else "'mlp'"
        raise ValueError(
            f"encoder={settings.encoder!r} does not fit observations of shape {spec.obs_shape}: use {accepted}"
        )
    learner_devices, local_learners = _learner_devices(settings, local_devices, global_devices)
    device_batch = settings.batch_size // local_learners
    if device_batch % settings.num_minibatches:
        raise ValueError(
            f"num_minibatches={settings.num_minibatches} must divide each learner device's batch of "
            f"{device_batch} envs (batch_size={settings.batch_size} over {local_learners} devices)"
        )
    device_minibatch = device_batch // settings.num_minibatches  # what one optimizer step learns from
    platform = learner_devices[0].platform
    learner_chunks = (
        default_learner_chunks(settings.encoder, device_minibatch, platform)
        if settings.learner_chunks in ("auto", 0)
        else settings.learner_chunks
    )
    if device_minibatch % learner_chunks:
        raise ValueError(
            f"learner_chunks={settings.learner_chunks} must divide each learner device's share of a minibatch, "
            f"{device_minibatch} envs (batch_size={settings.batch_size} over {local_learners} devices, "
            f"num_minibatches={settings.num_minibatches})"
        )
    actor_device, actor_mode = _actor_placement(settings, local_devices, envs_have_xla)
    return RunPlan(
        mesh=learner_mesh(learner_devices),
        local_learners=local_learners,
        actor_device=actor_device,
        actor_mode=actor_mode,
        learner_chunks=learner_chunks,
        learner_chunks_per_call=chunks_per_call(learner_chunks),
    )


def _learner_devices(
    settings: Settings, local_devices: Sequence[jax.Device], global_devices: Sequence[jax.Device]
) -> tuple[list[jax.Device], int]:
    """The learner devices of the run and how many of them are this process's; the batch must split
    evenly over the latter."""
    if settings.multi_host:
        learner_devices, local_learners = list(global_devices), len(local_devices)
    else:
        learner_devices = select_devices(settings.learner_device_ids, "learner_device_ids", local_devices)
        local_learners = len(learner_devices)
    if settings.batch_size % local_learners:
        fits = [
            n
            for n in range(settings.num_envs, 4 * settings.batch_size + 1, settings.num_envs)
            if n % local_learners == 0
        ][:3]
        raise ValueError(
            f"batch_size={settings.batch_size} must split evenly over this process's {local_learners} learner "
            f"devices and be a multiple of num_envs={settings.num_envs}: e.g. {fits}, or set learner_device_ids"
        )
    return learner_devices, local_learners


def _actor_placement(
    settings: Settings, local_devices: Sequence[jax.Device], envs_have_xla: bool
) -> tuple[jax.Device, str]:
    """The actor device and the actor mode ("auto" resolved: xla where the device and the envs allow)."""
    actor_ids = None if settings.actor_device_id is None else [settings.actor_device_id]
    actor_device = select_devices(actor_ids, "actor_device_id", local_devices)[0]
    xla_device = actor_device.platform in XLA_ACTOR_PLATFORMS
    actor_mode = (
        settings.actor_mode
        if settings.actor_mode != "auto"
        else ("xla" if xla_device and envs_have_xla else "python")
    )
    if actor_mode == "xla" and not xla_device:
        raise ValueError(
            f"actor_mode='xla' runs EnvPool's XLA custom calls, which exist for CPU and GPU devices only; "
            f"the actor device is a {actor_device.platform} device: use actor_mode='python' or "
            "set actor_device_id to a CPU or GPU device"
        )
    return actor_device, actor_mode


def default_learner_chunks(encoder: str, device_batch: int, platform: str) -> int:
    """`learner_chunks="auto"` (or 0): one env per chunk for the conv encoders on CPUs, where a Nature CNN's update runs
    faster on small pieces than on the whole batch (benchmarks/learner_chunks.py measures it); otherwise the
    whole batch at once (the MLP, and accelerators, which want large batches)."""
    return device_batch if platform == "cpu" and encoder in CONV_ENCODERS else 1


# Pieces of the batch per call of the compiled piece program. Each piece is a copy of the network's forward
# and backward in the program (compile time, memory); fewer per call run slower (figures:
# benchmarks/RESULTS.md, "Start-up, second look").
MAX_CHUNKS_PER_CALL = 8


def chunks_per_call(learner_chunks: int) -> int:
    """The largest divisor of `learner_chunks` up to MAX_CHUNKS_PER_CALL."""
    return max(k for k in range(1, min(learner_chunks, MAX_CHUNKS_PER_CALL) + 1) if learner_chunks % k == 0)
