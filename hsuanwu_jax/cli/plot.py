"""Command line: learning curves of training runs as a PNG (outputs/curves.py groups and draws them).

    python -m hsuanwu_jax.plot runs/a runs/b [...] --out curves.png [--metric episode_reward]

Runs whose configs are equal apart from `RUN_SPECIFIC_FIELDS` form one group, drawn as the mean across its
runs with a shaded mean ± std band; a run without config.json is a group of its own.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import matplotlib

from hsuanwu_jax.outputs.curves import draw_runs, load_run

_CLI_DPI = 100


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status (2 when no directory has data to plot)."""
    parser = argparse.ArgumentParser(prog="python -m hsuanwu_jax.plot", description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", metavar="DIR", help="run directories holding metrics.jsonl")
    parser.add_argument("--out", required=True, help="image to write, e.g. curves.png")
    parser.add_argument("--metric", default="episode_reward", help="metrics.jsonl field to plot")
    args = parser.parse_args(argv)
    matplotlib.use("Agg")  # writes files only, so it works without a display
    runs, problems = [], []
    for run_dir in args.run_dirs:
        try:
            runs.append(load_run(run_dir, args.metric))
        except ValueError as e:
            problems.append(str(e))
    if not runs:
        print(f"error: nothing to plot: {'; '.join(problems)}", file=sys.stderr)
        return 2
    if problems:
        print(f"warning: skipped {'; '.join(problems)}", file=sys.stderr)
    try:
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        draw_runs(runs, args.metric, None).savefig(args.out, dpi=_CLI_DPI)
    except (OSError, ValueError) as e:
        print(f"error: cannot write {args.out}: {e}", file=sys.stderr)
        return 2
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
