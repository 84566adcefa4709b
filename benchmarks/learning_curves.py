"""Learning curves over seeds: when does the greedy test return first reach a threshold?

    python benchmarks/learning_curves.py --config configs/impala_cartpole.py --seeds 1 2 3 \
        --threshold 475 --out benchmarks/results/cartpole_seeds.json

Each seed trains the config to its num_train_steps in this process, with a greedy test()
(`num_test_episodes` episodes) every `--test-every` env steps. Prints a table and writes JSON with,
per seed, the env steps and wall seconds (from the start of train(), compile and tests included)
at which the test return first reached the threshold, the final test return, and the curve.
"""

from __future__ import annotations

from common import benchmark_parser, parse_overrides, print_table, train_quietly_and_test, write_json

from hsuanwu_jax import load_config, make_env


def run_seed(config_path: str, seed: int, test_every: int, overrides: dict) -> dict:
    cfg = load_config(config_path)
    cfg.update(dict(overrides, seed=seed, test_every=test_every))
    run = train_quietly_and_test(cfg, lambda cfg: (make_env(cfg), make_env(cfg, test=True)))
    final, total_seconds, curve = run["final"], run["seconds"], run["curve"]
    return {
        "seed": seed,
        "curve": curve,
        "trace": run["trace"],
        "test_policy": final["policy"],
        "final_test_episode_reward": final["episode_reward"],  # as test_policy says
        "final_greedy_test_episode_reward": run["final_greedy"]["episode_reward"],
        "final_sampled_test_episode_reward": run["final_sampled"]["episode_reward"],
        # with the config's test_train_envs, the same tests on envs like training's (Procgen's training levels)
        **{
            f"final_{policy}_train_envs_episode_reward": run[f"final_{policy}"]["train_envs"][
                "episode_reward"
            ]
            for policy in ("greedy", "sampled")
            if "train_envs" in run[f"final_{policy}"]
        },
        "collapse_warning": run["collapse_warning"],
        "stall_warnings": run["stall_warnings"],
        "total_seconds": total_seconds,
        "num_train_steps": cfg.num_train_steps,
    }


def main() -> None:
    parser = benchmark_parser(__doc__, "benchmarks/results/learning_curves.json")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--threshold", type=float, default=475.0)
    parser.add_argument("--test-every", type=int, default=50_000)
    args = parser.parse_args()
    overrides = parse_overrides(args.set)
    rows = []
    for seed in args.seeds:
        result = run_seed(args.config, seed, args.test_every, overrides)
        reached = next((p for p in result["curve"] if p["test_episode_reward"] >= args.threshold), None)
        result.update(
            threshold=args.threshold,
            steps_to_threshold=reached and reached["step"],
            seconds_to_threshold=reached and reached["time"],
        )
        rows.append(result)
    print_table(
        rows,
        [
            ("seed", "seed", "d"),
            (f"steps to {args.threshold:g}", "steps_to_threshold", ","),
            ("seconds", "seconds_to_threshold", ".1f"),
            ("final test", "final_test_episode_reward", ".1f"),
            ("total s", "total_seconds", ".1f"),
        ],
    )
    write_json(args.out, {"config": args.config, "overrides": overrides, "runs": rows})


if __name__ == "__main__":
    main()
