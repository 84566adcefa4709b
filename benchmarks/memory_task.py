"""A memory task: CartPole with the velocities hidden, feed-forward against LSTM at the same budget.

    python benchmarks/memory_task.py --steps 2000000 --seeds 1 --out benchmarks/results/memory_task.json

The agent sees only the cart position and the pole angle (a gymnasium observation wrapper, run
through gymnasium's SyncVectorEnv and hsuanwu_jax's adapter): the velocities must be inferred from
the history, which a feed-forward policy cannot do and an LSTM can. Both agents use
configs/impala_cartpole.py with only `use_lstm` changed; the greedy test return (20 episodes) is
recorded every `--test-every` env steps. Prints a table and writes JSON.
"""

from __future__ import annotations

import gymnasium
import numpy as np
from common import print_table, script_parser, train_quietly_and_test, write_json

from hsuanwu_jax import load_config


class HideVelocities(gymnasium.ObservationWrapper):
    """CartPole observations [x, x_dot, theta, theta_dot] -> [x, theta]."""

    def __init__(self, env):
        super().__init__(env)
        high = env.observation_space.high[[0, 2]]
        self.observation_space = gymnasium.spaces.Box(-high, high, (2,), np.float32)

    def observation(self, observation):
        return observation[[0, 2]].astype(np.float32)


def vector_env(num_envs: int, seed: int):
    env = gymnasium.vector.SyncVectorEnv([lambda: HideVelocities(gymnasium.make("CartPole-v1"))] * num_envs)
    env.reset(seed=seed)
    return env


def run(use_lstm: bool, seed: int, steps: int, test_every: int) -> dict:
    cfg = load_config("configs/impala_cartpole.py")
    cfg.update(
        dict(
            seed=seed,
            num_actors=2,  # one gymnasium vector env per actor thread, made below
            use_lstm=use_lstm,
            lstm_size=64,
            num_train_steps=steps,
            test_every=test_every,
            log_every=test_every,
        )
    )
    run = train_quietly_and_test(
        cfg,
        lambda cfg: (
            [vector_env(cfg.num_envs, seed * 1000 + k) for k in range(cfg.num_actors)],
            vector_env(cfg.num_test_episodes, seed + 7),
        ),
    )
    final, seconds = run["final"], run["seconds"]
    curve = [{"step": p["step"], "test_episode_reward": p["test_episode_reward"]} for p in run["curve"]]
    return {
        "agent": "lstm" if use_lstm else "feed-forward",
        "seed": seed,
        "steps": steps,
        "final_test_episode_reward": final["episode_reward"],
        "best_test_episode_reward": max(
            [p["test_episode_reward"] for p in curve] + [final["episode_reward"]]
        ),
        "seconds": seconds,
        "curve": curve,
    }


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--steps", type=int, default=2_000_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--test-every", type=int, default=100_000)
    parser.add_argument("--out", default="benchmarks/results/memory_task.json")
    args = parser.parse_args()
    rows = [
        run(use_lstm, seed, args.steps, args.test_every) for seed in args.seeds for use_lstm in (False, True)
    ]
    print_table(
        rows,
        [
            ("agent", "agent", ">13"),
            ("seed", "seed", "d"),
            ("env steps", "steps", ","),
            ("final test", "final_test_episode_reward", ".1f"),
            ("best test", "best_test_episode_reward", ".1f"),
            ("seconds", "seconds", ".0f"),
        ],
    )
    write_json(args.out, {"runs": rows})


if __name__ == "__main__":
    main()
