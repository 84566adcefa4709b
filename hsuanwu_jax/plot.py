"""Learning curves of training runs (outputs/curves.py): `plot_runs` for notebooks, and the command line of
cli/plot.py that writes a PNG.

    python -m hsuanwu_jax.plot runs/a runs/b [...] --out curves.png [--metric episode_reward]
"""

import sys

from hsuanwu_jax.cli.plot import main
from hsuanwu_jax.outputs.curves import Run, group_label, group_runs, load_run, mean_std, plot_runs

__all__ = ["Run", "group_label", "group_runs", "load_run", "main", "mean_std", "plot_runs"]

if __name__ == "__main__":
    sys.exit(main())
