"""The trainer's parts on their own: typed settings, the run plan, the schedule and the trajectory layout."""

import dataclasses

import jax
import numpy as np
import pytest
from helpers import random_trajectory, tiny_config

from hsuanwu_jax.agent.networks import ImpalaNetwork
from hsuanwu_jax.agent.update import env_chunk
from hsuanwu_jax.config import default_config
from hsuanwu_jax.config.fields import NETWORK_FIELDS, OUTPUT_FIELDS, PLACEMENT_FIELDS, STATE_SHAPE_FIELDS
from hsuanwu_jax.config.settings import CONFIG_FIELDS, DERIVED_FIELDS, Settings, validate
from hsuanwu_jax.core.spec import EnvSpec
from hsuanwu_jax.core.types import ENV_AXES, TIME_MAJOR_FIELDS, Trajectory, map_envs
from hsuanwu_jax.parallel.plan import plan_run
from hsuanwu_jax.run.schedule import Schedule

VECTOR_SPEC = EnvSpec((4,), np.dtype(np.float32), (), 2)
FRAME_SPEC = EnvSpec((4, 84, 84), np.dtype(np.uint8), (), 6)


def test_settings_declare_every_config_field_and_the_derived_values_apart(tmp_path):
    assert set(CONFIG_FIELDS) == set(default_config().to_dict())
    assert not set(CONFIG_FIELDS) & set(DERIVED_FIELDS)
    s = validate(tiny_config(tmp_path, mlp_hidden_sizes=[8, 8], num_steps=5, batch_size=8))
    assert s.mlp_hidden_sizes == (8, 8) and s.steps_per_update == 40 and s.rollouts_per_batch == 2
    assert isinstance(s.config, dict) and s.config["num_steps"] == 5  # the whole config, as runs store it
    with pytest.raises(AttributeError):
        s.no_such_field  # noqa: B018 - nothing is forwarded to the config
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.lr = 1.0
    assert isinstance(s, Settings)


def test_field_categories_name_real_fields_once():
    for category in (STATE_SHAPE_FIELDS, NETWORK_FIELDS, OUTPUT_FIELDS, PLACEMENT_FIELDS):
        assert len(set(category)) == len(category) and set(category) <= set(CONFIG_FIELDS)
    assert not set(OUTPUT_FIELDS) & (set(STATE_SHAPE_FIELDS) | set(NETWORK_FIELDS))


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
        ({"learner_chunks": 3}, VECTOR_SPEC, "learner_chunks=3 must divide each learner device's batch of 8"),
        ({"learner_device_ids": [7]}, VECTOR_SPEC, "learner_device_ids=[7] names no usable device"),
        ({"actor_device_id": 7}, VECTOR_SPEC, "actor_device_id=[7] names no usable device"),
    ],
)
def test_the_plan_refuses_what_cannot_run_naming_the_field(tmp_path, overrides, spec, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        plan(tiny_config(tmp_path, **overrides), spec=spec)


def test_the_schedule_logs_tests_and_checkpoints_when_due():
    schedule = Schedule(0, log_every=100, test_every=250, checkpoint_every=300)
    seen = []
    for steps in range(40, 1000, 40):  # 40 env steps per update
        due = schedule.due(steps, finished=steps >= 960)
        seen.append((steps, *due))
        if due.log:
            schedule.logged(steps, due.test)
        if due.checkpoint:
            schedule.checkpointed(steps)
    logs = [steps for steps, log, _, _ in seen if log]
    tests = [steps for steps, _, test, _ in seen if test]
    checkpoints = [steps for steps, _, _, checkpoint in seen if checkpoint]
    assert tests == [280, 520, 760] and set(tests) <= set(logs)  # the first update past each multiple of 250
    # 100 steps after the last line, with every test and checkpoint, and at the end.
    assert logs == [120, 240, 280, 320, 440, 520, 600, 720, 760, 880, 920, 960]
    assert checkpoints == [320, 600, 920, 960]  # past each multiple of 300, and at the end
    never = Schedule(0, log_every=10**9, test_every=0, checkpoint_every=0)
    assert never.due(10**8, finished=False) == (False, False, False)
    assert never.due(10**8, finished=True) == (True, False, True)
    assert never.due(10**8, finished=False, stopping=True) == (True, False, True)


def test_the_trajectory_layout_splits_and_joins_along_the_env_axis():
    network = ImpalaNetwork(action_size=4, mlp_hidden_sizes=(8,), use_lstm=True, lstm_size=3)
    rng = np.random.default_rng(0)
    core = jax.tree.map(lambda x: rng.normal(size=x.shape).astype(np.float32), network.initial_core_state(3))
    traj = random_trajectory(0)._replace(initial_core_state=core)
    assert (
        ENV_AXES.obs == 1
        and ENV_AXES.initial_core_state == 0
        and "initial_core_state" not in TIME_MAJOR_FIELDS
    )
    pieces = [jax.tree.map(np.asarray, env_chunk(traj, index, 3)) for index in range(3)]
    assert pieces[1].obs.shape == (traj.obs.shape[0], 1, 2)
    np.testing.assert_array_equal(pieces[2].initial_core_state[0], core[0][2:3])
    joined = map_envs(lambda axis, *xs: np.concatenate(xs, axis), *pieces)
    assert isinstance(joined, Trajectory)
    jax.tree.map(np.testing.assert_array_equal, joined, traj)
