"""A multi-task run's games against single-task runs of the same games at the same per-game env steps.

    python benchmarks/multitask_scores.py \
        --multitask popart=benchmarks/results/checkpoint_tests_multitask.json \
                    shared=benchmarks/results/checkpoint_tests_multitask_shared.json \
        --single benchmarks/results/checkpoint_tests_pong.json benchmarks/results/checkpoint_tests_breakout.json \
        --random Pong-v5=benchmarks/results/random_pong.json Breakout-v5=benchmarks/results/random_breakout.json \
        [--out benchmarks/results/multitask_scores.json]

Reads `benchmarks/checkpoint_tests.py` JSON: for each multi-task run (a label and its checkpoints' tests), each
checkpoint's games, each with the env steps it was trained on (`task_env_steps`), set beside the single-task
checkpoint of that game nearest in env steps and beside random play (`benchmarks/random_policy.py` JSON). Per
checkpoint, the median and IQM of the human-normalised greedy scores over its games with 95% confidence
intervals (`atari_scores.aggregate_human_normalised`), and the same for the matched single-task checkpoints.
Prints a table and writes JSON.
"""

from __future__ import annotations

import json
import sys

from common import print_table, script_parser, write_json

from hsuanwu_jax.envs.atari_scores import aggregate_human_normalised, human_normalised


def nearest_single(rows: list[dict], game: str, env_steps: int) -> dict:
    """The single-task checkpoint test of `game` whose env steps are nearest `env_steps`."""
    candidates = [row for row in rows if row["env_id"] == game]
    if not candidates:
        raise ValueError(f"no single-task checkpoint of {game} among --single")
    return min(candidates, key=lambda row: abs(row["env_steps"] - env_steps))


def compare(multitask: dict[str, list[dict]], single: list[dict], random: dict[str, float]) -> dict:
    """`{"games": [...], "aggregates": [...]}`: a row per run, checkpoint and game; an aggregate per run and
    checkpoint over its games, for the multi-task run and for its games' matched single-task checkpoints."""
    games, aggregates = [], []
    for label, rows in multitask.items():
        for checkpoint in sorted({row["env_steps"] for row in rows}):
            at_checkpoint = [row for row in rows if row["env_steps"] == checkpoint]
            matched = {}
            for row in at_checkpoint:
                game = row["env_id"]
                if "task_env_steps" not in row:
                    raise ValueError(f"{label}: {row['checkpoint']} is not a multi-task checkpoint")
                if game not in random:
                    raise ValueError(f"no random play of {game} among --random")
                matched[game] = nearest_single(single, game, row["task_env_steps"])
                games.append(
                    {
                        "run": label,
                        "env_steps": checkpoint,
                        "game": game,
                        "game_env_steps": row["task_env_steps"],
                        "greedy": row["greedy"]["episode_reward"],
                        "sampled": row["sampled"]["episode_reward"],
                        "human_normalised": human_normalised(game, row["greedy"]["episode_reward"]),
                        "random": random[game],
                        "single_env_steps": matched[game]["env_steps"],
                        "single_greedy": matched[game]["greedy"]["episode_reward"],
                        "single_sampled": matched[game]["sampled"]["episode_reward"],
                    }
                )
            for source, tests in (
                (label, {row["env_id"]: row for row in at_checkpoint}),
                ("single-task", matched),
            ):
                episodes = {game: test["greedy"]["episode_rewards"] for game, test in tests.items()}
                aggregates.append(
                    {
                        "run": label,
                        "env_steps": checkpoint,
                        "scores": source,
                        **aggregate_human_normalised(episodes),
                    }
                )
    return {"games": games, "aggregates": aggregates}


def labelled_files(items: list[str], flag: str) -> dict[str, str]:
    pairs = dict(item.split("=", 1) for item in items if "=" in item)
    if len(pairs) != len(items):
        raise ValueError(f"{flag} takes NAME=FILE items, got {items}")
    return pairs


def main() -> None:
    parser = script_parser(__doc__)
    parser.add_argument(
        "--multitask", nargs="+", required=True, help="LABEL=FILE: a multi-task run's checkpoint tests"
    )
    parser.add_argument("--single", nargs="+", required=True, help="single-task runs' checkpoint tests")
    parser.add_argument("--random", nargs="+", required=True, help="GAME=FILE: random play of each game")
    parser.add_argument(
        "--out", default="benchmarks/results/multitask_scores.json", help="the JSON file to write"
    )
    args = parser.parse_args()

    def load(path: str) -> dict:
        with open(path, encoding="utf-8") as f:
            return json.load(f)

    try:
        multitask = {
            label: load(path)["checkpoints"]
            for label, path in labelled_files(args.multitask, "--multitask").items()
        }
        single = [row for path in args.single for row in load(path)["checkpoints"]]
        random = {game: load(path)["mean"] for game, path in labelled_files(args.random, "--random").items()}
        result = compare(multitask, single, random)
    except (OSError, ValueError, KeyError) as error:
        sys.exit(f"multitask_scores: {error}")
    print_table(
        result["games"],
        [
            ("run", "run", "s"),
            ("env steps", "env_steps", ",d"),
            ("game", "game", "s"),
            ("its env steps", "game_env_steps", ",d"),
            ("greedy", "greedy", ".1f"),
            ("sampled", "sampled", ".1f"),
            ("single-task steps", "single_env_steps", ",d"),
            ("single greedy", "single_greedy", ".1f"),
            ("single sampled", "single_sampled", ".1f"),
            ("random", "random", ".1f"),
        ],
    )
    print_table(
        result["aggregates"],
        [
            ("run", "run", "s"),
            ("env steps", "env_steps", ",d"),
            ("scores", "scores", "s"),
            ("median HNS", "human_normalised_median", ".3f"),
            ("low", "human_normalised_median_ci_low", ".3f"),
            ("high", "human_normalised_median_ci_high", ".3f"),
            ("IQM HNS", "human_normalised_iqm", ".3f"),
            ("low", "human_normalised_iqm_ci_low", ".3f"),
            ("high", "human_normalised_iqm_ci_high", ".3f"),
        ],
    )
    write_json(args.out, {"command": " ".join(sys.argv), **result})


if __name__ == "__main__":
    main()
