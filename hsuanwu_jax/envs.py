"""EnvPool environments: construction from a config (checked by env_checks.py), the spec the networks need,
the gymnasium adapter, episode statistics."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import envpool
import gymnasium
import numpy as np

from hsuanwu_jax.env_checks import INTERNAL_KWARGS, SET_BY_MAKE_ENV, check_env_config, check_renderable
from hsuanwu_jax.hsuanwu_config import EnvFacts

TEST_SEED_OFFSET = 1_000_003  # test envs never share a seed with a training env


class EnvSpec(NamedTuple):
    """What the networks and buffers need to know about an env's spaces."""

    obs_shape: tuple[int, ...]
    obs_dtype: np.dtype
    action_shape: tuple[int, ...]  # () for discrete actions, (A,) for continuous ones
    action_size: int  # the number of discrete actions, or A
    action_low: tuple[float, ...] | None = None  # bounds of continuous actions
    action_high: tuple[float, ...] | None = None

    @property
    def is_image(self) -> bool:
        return len(self.obs_shape) == 3

    @property
    def is_discrete(self) -> bool:
        return self.action_shape == ()

    @property
    def action_dtype(self) -> np.dtype:
        return np.dtype(np.int32 if self.is_discrete else np.float32)

    @property
    def distribution(self) -> str:
        """The distribution that fits the action space."""
        return "categorical" if self.is_discrete else "diag_gaussian"

    def env_action(self, action: np.ndarray) -> np.ndarray:
        """What is sent to the env: continuous actions clipped to the bounds (the policy's sample,
        and its log-prob, stay unclipped)."""
        return action if self.is_discrete else np.clip(action, self.action_low, self.action_high)


def env_spec(env) -> EnvSpec:
    """Reads and checks the spaces of an EnvPool env (gymnasium API)."""
    obs_space, action_space = env.observation_space, env.action_space
    if not isinstance(obs_space, gymnasium.spaces.Box) or len(obs_space.shape) not in (1, 3):
        raise ValueError(
            f"observation space {obs_space} is not supported: the networks take a Box of rank 1 "
            "(vectors, encoder 'mlp') or rank 3 (uint8 [C, H, W] frames, encoder 'nature_cnn' or 'resnet')"
        )
    obs = (tuple(obs_space.shape), np.dtype(obs_space.dtype))
    if isinstance(action_space, gymnasium.spaces.Discrete):
        return EnvSpec(*obs, (), int(action_space.n))
    if isinstance(action_space, gymnasium.spaces.Box) and len(action_space.shape) == 1:
        low, high = (
            np.broadcast_to(action_space.low, action_space.shape),
            np.broadcast_to(action_space.high, action_space.shape),
        )
        return EnvSpec(
            *obs,
            tuple(action_space.shape),
            action_space.shape[0],
            tuple(map(float, low)),
            tuple(map(float, high)),
        )
    raise ValueError(
        f"action space {action_space} is not supported: the policy takes Discrete actions "
        "(categorical) or a rank-1 Box (diagonal Gaussian)"
    )


def spec_to_json(spec: EnvSpec) -> dict[str, Any]:
    return {**spec._asdict(), "obs_dtype": spec.obs_dtype.name}


def spec_from_json(data: Mapping[str, Any]) -> EnvSpec:
    def optional_tuple(x):
        return None if x is None else tuple(x)

    return EnvSpec(
        obs_shape=tuple(data["obs_shape"]),
        obs_dtype=np.dtype(data["obs_dtype"]),
        action_shape=tuple(data["action_shape"]),
        action_size=int(data["action_size"]),
        action_low=optional_tuple(data["action_low"]),
        action_high=optional_tuple(data["action_high"]),
    )


def spec_differences(first: EnvSpec, second: EnvSpec, first_name: str, second_name: str) -> list[str]:
    """`"<field>: <first_name> <value>, <second_name> <value>"` for each field where two specs differ."""
    return [
        f"{field}: {first_name} {a!r}, {second_name} {b!r}"
        for field, a, b in zip(EnvSpec._fields, first, second, strict=True)
        if a != b
    ]


def num_envs_of(env) -> int:
    return int(env.config["num_envs"])


class EnvOrigin(NamedTuple):
    """How to build an EnvPool env like a given one: its task id and envpool.make arguments."""

    env_id: str
    kwargs: dict[str, Any]  # the arguments that differ from the task's defaults (num_envs, seed apart)
    seed: int  # env i of the env was seeded seed + i
    same_tasks: tuple[str, ...]  # every task id that makes this env (EnvPool registers some twice: v3 / v4)


def envpool_origin(env) -> EnvOrigin | None:
    """The task id and arguments an EnvPool env was made with, read back from its config and EnvPool's
    registry; None for other envs or when the registry cannot tell (no task with its spec and kind)."""
    if not isinstance(env, envpool.python.envpool.EnvPoolMixin):
        return None
    config = dict(env.config)
    spec_class = type(env.spec).__name__
    matching = []
    for env_id, (_, registered_class, registered) in envpool.registration.registry.specs.items():
        kind = {k: v for k, v in registered.items() if k not in ("base_path", "max_episode_steps")}
        if registered_class == spec_class and all(config.get(k) == v for k, v in kind.items()):
            matching.append(env_id)
    # Tasks of one kind can differ only in their episode cap (CartPole-v0 / -v1): prefer the one that fits.
    exact = [
        i
        for i in matching
        if envpool.registration.registry.specs[i][2].get("max_episode_steps")
        == config.get("max_episode_steps")
    ]
    candidates = sorted(exact or matching)
    if not candidates:
        return None
    defaults = envpool.make_spec(candidates[0]).config._asdict()
    kwargs = {
        k: v
        for k, v in config.items()
        if k not in SET_BY_MAKE_ENV and k not in INTERNAL_KWARGS and defaults.get(k) != v
    }
    return EnvOrigin(candidates[0], kwargs, int(config["seed"]), tuple(candidates))


def env_facts(train_env) -> EnvFacts:
    """What a train env (one env, or a list of them) tells the config: its envs in all, its task, its
    arguments (task and arguments for EnvPool envs only)."""
    envs = list(train_env) if isinstance(train_env, (list, tuple)) else [train_env]
    batched = [as_batched_env(env) for env in envs]
    origin = envpool_origin(getattr(envs[0], "envpool_env", envs[0]))  # a wrapper's EnvPool env
    return EnvFacts(
        total_envs=sum(num_envs_of(env) for env in batched),
        env_id=None if origin is None else origin.env_id,
        same_tasks=() if origin is None else origin.same_tasks,
        env_kwargs=None if origin is None else origin.kwargs,
        obs_rank=len(getattr(batched[0].observation_space, "shape", None) or ()) or None,
    )


def split_env(env, num_actors: int, env_threads: int) -> list:
    """One env of `num_actors` x k envs as `num_actors` envs of k each, for the actor threads: an EnvPool
    env is made again as `num_actors` envs with the same task, arguments and per-env seeds (the given one
    is closed); a gymnasium vector env's sub-envs are grouped (`SyncVectorEnv`) or made again from their
    factories (`AsyncVectorEnv`)."""
    total = num_envs_of(as_batched_env(env))
    if total % num_actors:
        raise ValueError(
            f"train_env holds {total} envs, which num_actors={num_actors} actor threads cannot share evenly: "
            f"give a multiple of {num_actors} envs, or a list of {num_actors} envs"
        )
    if hasattr(env, "split"):  # a wrapper that knows how (hsuanwu_envs.FlatObservationEnv)
        return env.split(num_actors, env_threads)
    per_actor = total // num_actors
    groups = [range(a * per_actor, (a + 1) * per_actor) for a in range(num_actors)]
    if isinstance(env, envpool.python.envpool.EnvPoolMixin):
        origin = envpool_origin(env)
        if origin is None:
            raise ValueError(
                "train_env is one EnvPool env whose task cannot be read back from EnvPool's registry, so it "
                f"cannot be split over num_actors={num_actors} actor threads: pass a list of {num_actors} envs"
            )
        env.close()
        return [
            make_envpool(origin.env_id, per_actor, env_threads, origin.seed + group.start, origin.kwargs)
            for group in groups
        ]
    if isinstance(env, gymnasium.vector.SyncVectorEnv):
        return [gymnasium.vector.SyncVectorEnv([lambda e=env.envs[i]: e for i in group]) for group in groups]
    if isinstance(env, gymnasium.vector.AsyncVectorEnv):
        env.close()
        return [gymnasium.vector.AsyncVectorEnv([env.env_fns[i] for i in group]) for group in groups]
    raise ValueError(
        f"train_env is one {type(env).__name__} and num_actors={num_actors}: pass a list of {num_actors} envs "
        "(or an EnvPool or gymnasium vector env, which can be split)"
    )


def check_actor_envs(envs: list, num_actors: int, num_envs: int) -> EnvSpec:
    """Checks that there is one env per actor, each of `num_envs` envs, all with the same spaces;
    returns their common spec."""
    if len(envs) != num_actors:
        raise ValueError(
            f"train_env has {len(envs)} envs but num_actors={num_actors}: give one env per actor"
        )
    for index, env in enumerate(envs):
        if num_envs_of(env) != num_envs:
            raise ValueError(
                f"train_env[{index}] has num_envs={num_envs_of(env)} but the config says num_envs={num_envs}"
            )
    spec = env_spec(envs[0])
    for index, env in enumerate(envs[1:], start=1):
        check_same_spec(env_spec(env), spec, f"train_env[{index}]")
    return spec


def check_same_spec(spec: EnvSpec, expected: EnvSpec, name: str) -> None:
    if spec != expected:
        raise ValueError(f"{name} has spec {spec}, which differs from the training envs' {expected}")


def step_env(env, action) -> tuple:
    """`env.step(action)`, with the old gym API (4 values) named rather than failing to unpack."""
    result = env.step(action)
    if not isinstance(result, tuple) or len(result) != 5:
        count = len(result) if isinstance(result, tuple) else type(result).__name__
        raise TypeError(
            f"{type(env).__name__}.step() returned {count} values; hsuanwu_jax needs gymnasium's 5 "
            "(obs, reward, terminated, truncated, info): the 4-value step is the old gym API"
        )
    return result


def make_env(
    cfg: Mapping[str, Any],
    test: bool = False,
    process_index: int | None = None,
    *,
    num_envs: int | None = None,
    render: bool = False,
):
    """EnvPool envs for a config.

    For training, a list of `num_actors` envs with `num_envs` envs each (one per actor thread),
    seeded `seed + i` for the i-th env of the whole run: in a multi-host run process p's envs come
    after those of processes 0..p-1 (`process_index`, default the config's `process_id` or 0; this
    function never starts JAX, so it can run before `jax.distributed` joins). With `test=True`, one env of
    `num_test_episodes` envs that runs one greedy episode each; `env_kwargs` apply to both, and
    `test_env_kwargs` override them for testing (e.g. no episodic life, unclipped rewards). A test env
    can instead have `num_envs` envs, and with `render=True` its `render()` returns RGB frames
    `[num_envs, H, W, 3]` uint8 (classic control and Atari; MuJoCo needs an OpenGL context, MUJOCO_GL).
    """
    check_env_config(cfg)
    kwargs = dict(cfg.get("env_kwargs") or {})
    if test:
        kwargs.update(cfg.get("test_env_kwargs") or {})
        if render:
            check_renderable(cfg["env_id"])
            kwargs["render_mode"] = "rgb_array"
        n = int(num_envs or cfg["num_test_episodes"])
        return make_envpool(cfg["env_id"], n, cfg["env_threads"], int(cfg["seed"]) + TEST_SEED_OFFSET, kwargs)
    if render or num_envs is not None:
        raise ValueError(
            "num_envs and render apply to test envs (test=True); training envs follow the config"
        )
    n, actors = int(cfg["num_envs"]), int(cfg["num_actors"])
    if process_index is None:
        process_index = cfg.get("process_id") or 0
    first = int(cfg["seed"]) + process_index * actors * n
    return [make_envpool(cfg["env_id"], n, cfg["env_threads"], first + k * n, kwargs) for k in range(actors)]


def actor_envs(train_env, cfg: Mapping[str, Any], process_index: Callable[[], int]) -> tuple[list, list]:
    """The actor threads' envs, one per actor, and those of them made here (to be closed if the trainer
    cannot be built): made from the config when `train_env` is None (as process `process_index()` of the
    run: called only then, as it starts JAX), a list as given, or one env split over `num_actors` actors."""
    if train_env is None:
        envs = make_env(cfg, process_index=process_index())
        return envs, envs
    if isinstance(train_env, (list, tuple)):
        return list(train_env), []
    if cfg["num_actors"] > 1:
        envs = split_env(train_env, cfg["num_actors"], cfg["env_threads"])
        return envs, envs
    return [train_env], []


def make_envpool(env_id: str, num_envs: int, num_threads: int, seed: int, kwargs: dict):
    with warnings.catch_warnings():
        # EnvPool declares float64 bounds for float32 Boxes; gymnasium warns when it builds the spaces.
        warnings.filterwarnings("ignore", message=".*precision lowered by casting", category=UserWarning)
        env = envpool.make(
            env_id,
            env_type="gymnasium",
            num_envs=num_envs,
            batch_size=num_envs,
            num_threads=min(int(num_threads), num_envs),
            seed=seed,
            **kwargs,
        )
        _ = env.observation_space, env.action_space  # built (and cached) on first access: warns
    return env


class GymnasiumVectorEnv:
    """Lets a gymnasium vector env (e.g. `gymnasium.vector.AsyncVectorEnv` of your own env) stand in
    for an EnvPool env: same `reset`/`step` batch interface, so the same actor loop runs it.

    Gymnasium's default "next step" auto-reset is EnvPool's own reset semantics; other modes are
    refused. Python envs step far slower than EnvPool's C++ ones: use EnvPool where it has the task.
    """

    def __init__(self, vector_env, seed: int | None = None):
        mode = vector_env.metadata.get("autoreset_mode", gymnasium.vector.AutoresetMode.NEXT_STEP)
        if mode != gymnasium.vector.AutoresetMode.NEXT_STEP:
            raise ValueError(
                f"the gymnasium vector env uses autoreset_mode={mode}: only AutoresetMode.NEXT_STEP "
                "(gymnasium's default, EnvPool's behaviour) is supported"
            )
        self.env = vector_env
        self.config = {"num_envs": vector_env.num_envs}
        self.observation_space = vector_env.single_observation_space
        self.action_space = vector_env.single_action_space
        self._seed = seed

    def reset(self):
        obs, info = self.env.reset(seed=self._seed)
        self._seed = None  # seed once; later resets continue the envs' own random streams
        return obs, info

    def step(self, action):
        return self.env.step(action)

    def close(self) -> None:
        self.env.close()


def as_batched_env(env):
    """EnvPool envs as they are; other gymnasium vector envs through `GymnasiumVectorEnv`.

    EnvPool envs are told apart by their type (gymnasium sees them as single `gymnasium.Env`s); a single
    gymnasium env or anything without the batched interface is refused, naming what to pass instead.
    """
    if isinstance(env, envpool.python.envpool.EnvPoolMixin):
        return env
    if isinstance(env, gymnasium.vector.VectorEnv):
        return GymnasiumVectorEnv(env)
    if isinstance(env, gymnasium.Env):
        raise TypeError(
            f"{type(env).__name__} is a single gymnasium env; the trainer steps batches of envs: pass an "
            "EnvPool env (hsuanwu_jax.make_env) or a vector env, e.g. "
            "gymnasium.vector.SyncVectorEnv([lambda: gymnasium.make(...)] * num_envs)"
        )
    if not all(
        hasattr(env, name) for name in ("reset", "step", "observation_space", "action_space", "config")
    ):
        raise TypeError(
            f"{type(env).__name__} is not a batched env: expected an EnvPool env (hsuanwu_jax.make_env) or a "
            "gymnasium vector env"
        )
    return env


class EpisodeTracker:
    """Running return and length of each of B envs; collects finished episodes.

    Uses the game's own score and end where EnvPool reports them (`info["reward"]`, the unclipped
    reward, and `info["terminated"]`, game over rather than a lost life), so Atari statistics are
    per game even with reward clipping and episodic life.
    """

    def __init__(self, num_envs: int):
        self._return = np.zeros(num_envs, np.float64)
        self._length = np.zeros(num_envs, np.int64)
        self._reset_pending = np.zeros(num_envs, bool)

    def update(self, reward, terminated, truncated, info) -> list[tuple[int, float, int]]:
        """Adds one env step; returns `(env_index, episode_reward, episode_length)` of episodes that ended."""
        counted = ~self._reset_pending  # EnvPool's reset step after an episode end is not part of one
        self._return += np.where(counted, info.get("reward", reward), 0.0)
        self._length += counted
        game_over = np.asarray(info.get("terminated", terminated), bool) | truncated
        ended = np.flatnonzero(game_over)
        finished = [(int(i), float(self._return[i]), int(self._length[i])) for i in ended]
        self._return[ended] = 0.0
        self._length[ended] = 0
        self._reset_pending = np.asarray(terminated | truncated, bool)
        return finished

    def running(self, index: int) -> tuple[float, int]:
        """The return and length so far of env `index`'s current episode."""
        return float(self._return[index]), int(self._length[index])
