"""The return of uniformly random actions on a config's test env: the baseline a trained agent must beat.

    python benchmarks/random_policy.py --config configs/impala_mujoco.py [--episodes 10] [--seed 0] [--set field=value]

Plays `--episodes` episodes on `make_env(cfg, test=True)` (the test protocol: e.g. unclipped Atari
scores), actions uniform over the action space (over the bounds for Box actions); prints and writes JSON.
"""

from __future__ import annotations

import sys

import numpy as np
from common import benchmark_parser, parse_overrides, random_actions, write_json

from hsuanwu_jax import load_config, make_env
from hsuanwu_jax.acting.episodes import EpisodeTracker
from hsuanwu_jax.envs.interface import env_spec
from hsuanwu_jax.envs.vector_env import as_batched_env


def random_returns(cfg, episodes: int, seed: int) -> list[float]:
    cfg.num_test_episodes = episodes
    env = as_batched_env(make_env(cfg, test=True))  # one env per episode; Dict observations flattened
    spec = env_spec(env)
    rng = np.random.default_rng(seed)
    tracker, returns = EpisodeTracker(episodes), {}
    env.reset()
    while len(returns) < episodes:
        _, reward, terminated, truncated, info = env.step(random_actions(spec, rng, episodes))
        for index, episode_return, _ in tracker.update(reward, terminated, truncated, info):
            returns.setdefault(index, episode_return)  # each env's first episode counts
    env.close()
    return [returns[i] for i in range(episodes)]


def main() -> None:
    parser = benchmark_parser(__doc__, "benchmarks/results/random_policy.json")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cfg = load_config(args.config)
    cfg.update(parse_overrides(args.set))
    returns = random_returns(cfg, args.episodes, args.seed)
    print(
        f"uniform random actions, {args.episodes} episodes: {np.mean(returns):.1f} +- {np.std(returns):.1f}"
    )
    write_json(
        args.out,
        {
            "config": args.config,
            "command": " ".join(sys.argv),
            "returns": returns,
            "mean": float(np.mean(returns)),
            "std": float(np.std(returns)),
        },
    )


if __name__ == "__main__":
    main()
