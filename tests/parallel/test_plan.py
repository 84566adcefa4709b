"""The run plan (parallel/plan.py): modes resolved and refusals, without starting anything."""

import jax
import numpy as np
import pytest
from helpers import tiny_config

from hsuanwu_jax.config.settings import validate
from hsuanwu_jax.core.spec import EnvSpec
from hsuanwu_jax.parallel.plan import plan_run

VECTOR_SPEC = EnvSpec((4,), np.dtype(np.float32), (), 2)


FRAME_SPEC = EnvSpec((4, 84, 84), np.dtype(np.uint8), (), 6)


def plan(cfg, spec=VECTOR_SPEC, envs_have_xla=True):
    devices = jax.devices()
    return plan_run(
        validate(cfg), spec, envs_have_xla=envs_have_xla, local_devices=devices, global_devices=devices
    )


def test_the_plan_resolves_auto_modes_without_starting_anything(tmp_path):
    cpu = plan(tiny_config(tmp_path))
    assert cpu.actor_mode == "xla" and cpu.learner_chunks == 1 and cpu.local_learners == 1
    assert cpu.mesh.size == 1 and cpu.actor_device == jax.devices()[0]
    assert plan(tiny_config(tmp_path), envs_have_xla=False).actor_mode == "python"
    frames = plan(tiny_config(tmp_path, encoder="nature_cnn"), spec=FRAME_SPEC)
    assert frames.learner_chunks == 8  # conv nets on CPUs: one env per chunk
    minibatches = plan(tiny_config(tmp_path, encoder="nature_cnn", num_minibatches=4), spec=FRAME_SPEC)
    assert minibatches.learner_chunks == 2  # one env per chunk of each minibatch
    assert (
        plan(tiny_config(tmp_path, encoder="nature_cnn", learner_chunks=2), spec=FRAME_SPEC).learner_chunks
        == 2
    )


@pytest.mark.parametrize(
    "overrides, spec, message",
    [
        (
            {"encoder": "nature_cnn"},
            VECTOR_SPEC,
            "encoder='nature_cnn' does not fit observations of shape (4,)",
        ),
        ({}, FRAME_SPEC, "encoder='mlp' does not fit observations of shape (4, 84, 84): use 'nature_cnn'"),
        (
            {"learner_chunks": 3},
            VECTOR_SPEC,
            "learner_chunks=3 must divide each learner device's share of a minibatch, 8",
        ),
        (
            {"num_minibatches": 3},
            VECTOR_SPEC,
            "num_minibatches=3 must divide each learner device's batch of 8",
        ),
        (
            {"num_minibatches": 2, "learner_chunks": 8},
            VECTOR_SPEC,
            "learner_chunks=8 must divide each learner device's share of a minibatch, 4 envs",
        ),
        ({"learner_device_ids": [7]}, VECTOR_SPEC, "learner_device_ids=[7] names no usable device"),
        ({"actor_device_id": 7}, VECTOR_SPEC, "actor_device_id=[7] names no usable device"),
    ],
)
def test_the_plan_refuses_what_cannot_run_naming_the_field(tmp_path, overrides, spec, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        plan(tiny_config(tmp_path, **overrides), spec=spec)
