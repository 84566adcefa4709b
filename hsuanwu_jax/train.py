"""Command line: train, test and export one config.

    python -m hsuanwu_jax.train --config configs/impala_cartpole.py --workdir runs/cartpole \
        [--config.<field>=<value> ...]

Writes `<workdir>/metrics.jsonl`, `<workdir>/checkpoints/` and `<workdir>/export`, prints progress and
the final greedy test return. Run again on the same workdir to resume from its newest checkpoint;
SIGTERM or Ctrl-C stops with a checkpoint (exit status 0) so that a rerun continues.
"""

from __future__ import annotations

import json

from absl import app, flags
from ml_collections import config_flags

from hsuanwu_jax.runtime import limit_malloc_arenas
from hsuanwu_jax.sharding import is_primary
from hsuanwu_jax.trainer import DistributedTrainer

_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to a config file with get_config().")
_WORKDIR = flags.DEFINE_string("workdir", None, "Output directory (overrides config.workdir).")


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    limit_malloc_arenas()
    cfg = _CONFIG.value
    if _WORKDIR.value:
        cfg.workdir = _WORKDIR.value
    trainer = DistributedTrainer(cfg)
    try:
        trainer.train()
        if trainer.stopped_early:  # preempted: the checkpoint is written, leave quickly
            return
        result = trainer.test()
    finally:
        trainer.close()
    if not is_primary():  # in a multi-host run, process 0 reports
        return
    print("final test:", json.dumps(result))
    print(f"final test return {result['episode_reward']:.1f} over {result['num_episodes']} greedy episodes")


if __name__ == "__main__":
    flags.mark_flag_as_required("config")
    app.run(main)
