"""Learner throughput against `learner_chunks` (sequential pieces of each device's batch, same update).

    python benchmarks/learner_chunks.py --config configs/impala_atari.py --chunks 1 2 4 8 16 32 [--seconds 10]

For each value, builds the trainer and times learner updates alone on a batch of real rollouts of the
config's shape (see throughput.py), after warm-up. Prints env steps/s and the compile time of the
update, and writes JSON: pick the fastest value for this backend and shape.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
import time

from common import benchmark_parser, parse_overrides, print_table, write_json
from throughput import time_learner_alone

from hsuanwu_jax import DistributedTrainer, load_config


def main() -> None:
    parser = benchmark_parser(__doc__, "benchmarks/results/learner_chunks.json")
    parser.add_argument("--chunks", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    overrides = parse_overrides(args.set)
    rows = []
    for chunks in args.chunks:
        cfg = load_config(args.config)
        cfg.update(dict(progress="none", checkpoint_every=0, learner_chunks=chunks), **overrides)
        with tempfile.TemporaryDirectory() as workdir:
            cfg.workdir = workdir
            trainer = DistributedTrainer(cfg)
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                trainer.train(num_steps=trainer.settings.steps_per_update)
            first = time.perf_counter() - started
            rate = time_learner_alone(trainer, args.seconds)
            trainer.close()
        settings = trainer.settings
        rows.append(
            {
                "chunks": chunks,
                "frames_per_chunk": (settings.num_steps + 1) * settings.batch_size // chunks,
                "sps": rate,
                "first_update_seconds": first,
            }
        )
        print(f"learner_chunks={chunks}: {rate:,.0f} env steps/s", flush=True)
    print_table(
        rows,
        [
            ("learner_chunks", "chunks", "d"),
            ("frames per chunk", "frames_per_chunk", "d"),
            ("env steps/s", "sps", ",.0f"),
            ("first update s", "first_update_seconds", ".1f"),
        ],
    )
    write_json(
        args.out, {"config": args.config, "overrides": overrides, "command": " ".join(sys.argv), "rows": rows}
    )


if __name__ == "__main__":
    main()
