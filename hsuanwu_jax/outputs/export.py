"""A run's model export written, and the inference policy loaded from one (`load_policy`)."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import numpy as np

from hsuanwu_jax.agent.networks import ImpalaNetwork
from hsuanwu_jax.agent.policy import make_policy_fn
from hsuanwu_jax.agent.saved import check_spec, read_export, stats_from_json, stats_to_json, write_export
from hsuanwu_jax.config.defaults import DEFAULT_COMPILE_CACHE
from hsuanwu_jax.config.settings import Settings
from hsuanwu_jax.config.tasks import task_ids
from hsuanwu_jax.core import popart
from hsuanwu_jax.core.acting_state import ActingState
from hsuanwu_jax.core.distributions import get_distribution
from hsuanwu_jax.core.popart import PopArtStats
from hsuanwu_jax.core.spec import EnvSpec, spec_to_json
from hsuanwu_jax.core.types import LearnerState, Params
from hsuanwu_jax.envs.dict_obs import flatten
from hsuanwu_jax.envs.interface import env_spec
from hsuanwu_jax.envs.vector_env import as_batched_env
from hsuanwu_jax.parallel.hosts import is_primary
from hsuanwu_jax.parallel.mesh import fetch
from hsuanwu_jax.runtime.compilation import use_compile_cache


def export_run(
    path: str, state: LearnerState, network_args: dict, spec: EnvSpec, settings: Settings, env_steps: int
) -> str:
    """Writes the model export of a run's learner `state` to `path` (process 0 only: one export per run);
    returns `path`."""
    params = fetch(state.params)
    if not is_primary():
        return path
    metadata = {
        "network": network_args,
        "spec": spec_to_json(spec),
        "value_stats": stats_to_json(fetch(state.value_stats)),
        "config": settings.config,
        "env_steps": env_steps,
    }
    return write_export(path, params, metadata)


class Policy:
    """A trained policy for inference: `policy(obs, state=None) -> (action, state)`.

    `obs` is one observation `[*obs_shape]` or a batch `[B, *obs_shape]` (for an env with Dict observations,
    the Dict itself, one or a batch, flattened as in training: `envs/dict_obs.py`); actions come back with
    the same leading shape, as the env takes them (continuous ones clipped to the bounds). `state`
    carries what the network reads besides the observation (an `ActingState`: the LSTM state, the last
    action): pass back what the previous call returned, or None at the start of an episode.
    Actions are greedy (the distribution's mode) unless `greedy=False` was given to `load_policy`.
    `value_stats`: the PopArt statistics the value head's outputs are normalised by (None without PopArt;
    with them the value is `popart.std(value_stats) * output + value_stats.mean`). `tasks`: the tasks the
    export learned (one policy for all; a value output each, and with PopArt statistics `[K]` each), or the
    one `load_policy` was given (its value output's statistics).
    """

    def __init__(
        self,
        network: ImpalaNetwork,
        spec: EnvSpec,
        params: Params,
        greedy: bool,
        seed: int,
        value_stats: PopArtStats | None = None,
        tasks: tuple[str, ...] = (),
    ):
        self.network, self.spec, self.params, self.value_stats = network, spec, params, value_stats
        self.tasks = tasks
        self._policy_fn = make_policy_fn(network, get_distribution(network.distribution), greedy=greedy)
        self._key = jax.random.PRNGKey(seed)

    def __call__(self, obs, state=None, reward=None):
        if isinstance(obs, Mapping):
            if self.spec.obs_layout is None:
                raise ValueError("this export was trained on array observations: pass an array, not a dict")
            obs = flatten(obs, self.spec.obs_layout)
        obs = np.asarray(obs, self.spec.obs_dtype)
        single = obs.shape == self.spec.obs_shape
        if not single and obs.shape[1:] != self.spec.obs_shape:
            raise ValueError(
                f"expected observations of shape {self.spec.obs_shape} (one) or [B, *{self.spec.obs_shape}] "
                f"(a batch), got {obs.shape}"
            )
        batch = obs[None] if single else obs
        num = batch.shape[0]
        rewards = (
            np.zeros(num, np.float32)
            if reward is None
            else np.broadcast_to(np.asarray(reward, np.float32), (num,))
        )
        if state is None:
            state = ActingState.initial(batch, self.spec, self.network.initial_core_state(num))
        state = state._replace(obs=batch, reward=rewards)  # what this call is given
        step, self._key = self._policy_fn(self.params, self._key, *state.policy_inputs())
        action = np.asarray(step.action)
        no_end = np.zeros(num, bool)  # the caller says when episodes end: by passing no state
        new_state = state.next(batch, rewards, no_end, no_end, action, step.core_state)
        env_action = np.asarray(step.env_action)
        return (env_action[0] if single else env_action), new_state


def load_policy(
    path: str,
    env=None,
    *,
    greedy: bool = True,
    seed: int = 0,
    compile_cache_dir: str = DEFAULT_COMPILE_CACHE,
    task: str | None = None,
) -> Policy:
    """The policy in export `path`; with `env`, first checks that its spaces match the export's.
    `compile_cache_dir` is where compiled programs are kept across processes ("": nowhere). For an export
    of a multi-task run, `task` (one of its tasks) picks that task's value statistics."""
    use_compile_cache(compile_cache_dir)
    network, spec, params, metadata = read_export(path)
    if env is not None:
        check_spec(spec, env_spec(as_batched_env(env)), f"export {path!r}")
    tasks = task_ids(metadata["config"]) if isinstance(metadata.get("config"), dict) else ()
    stats = stats_from_json(metadata.get("value_stats"))
    if task is not None:
        if task not in tasks:
            raise ValueError(f"task={task!r} is not one of export {path!r}'s tasks {tasks}")
        if stats is not None and len(tasks) > 1:
            stats = popart.for_samples(stats, np.int32(tasks.index(task)))
        tasks = (task,)
    return Policy(network, spec, params, greedy, seed, stats, tasks)
