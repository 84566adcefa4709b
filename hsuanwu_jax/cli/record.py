"""Command line: a video of episodes (played as the run's `test_policy` says) from a training run's newest checkpoint.

    python -m hsuanwu_jax.record RUN_DIR --out video.gif [--episodes 1] [--fps 25] [--task Pong-v5]

Rebuilds the run's trainer from `RUN_DIR/config.json` (which resumes the newest checkpoint in
`RUN_DIR/checkpoints`) and calls `DistributedTrainer.record`; a run without a checkpoint records the
initial, untrained policy. Writes .gif, or .mp4 with imageio-ffmpeg installed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from hsuanwu_jax.config.defaults import default_config
from hsuanwu_jax.config.fields import PLACEMENT_FIELDS
from hsuanwu_jax.run.trainer import DistributedTrainer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hsuanwu_jax.record", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("run_dir", help="a training run's workdir (holding config.json and checkpoints/)")
    parser.add_argument("--out", required=True, help="the video to write: a .gif or .mp4 path")
    parser.add_argument("--episodes", type=int, default=1, help="episodes to record")
    parser.add_argument("--fps", type=float, default=25.0, help="frames per second of the video")
    parser.add_argument("--task", default=None, help="a multi-task run's task to record (default: its first)")
    args = parser.parse_args(argv)
    config_path = os.path.join(args.run_dir, "config.json")
    try:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        print(f"error: cannot read the run's config {config_path}: {e}", file=sys.stderr)
        return 2
    # One process on this machine's devices, quiet, in the run's directory (whose checkpoint it resumes).
    placement = {field: default_config()[field] for field in PLACEMENT_FIELDS}
    config.update(placement, workdir=args.run_dir, progress="none")
    trainer = DistributedTrainer(config)
    try:
        video = trainer.record(args.out, num_episodes=args.episodes, fps=args.fps, task=args.task)
    finally:
        trainer.close()
    print(
        f"{video['path']}: {video['num_frames']} frames, {os.path.getsize(video['path']):,} bytes, "
        f"{video['policy']} return {video['episode_reward']:.1f} (env step {trainer.env_steps:,})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
