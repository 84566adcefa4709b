"""The trajectory's layout (core/types.py) and its pieces along the env axis."""

import jax
import numpy as np
from helpers import random_trajectory

from hsuanwu_jax.agent.networks import ImpalaNetwork
from hsuanwu_jax.agent.update import env_chunk
from hsuanwu_jax.core.types import ENV_AXES, TIME_MAJOR_FIELDS, Trajectory, map_envs


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
