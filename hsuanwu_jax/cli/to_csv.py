"""Command line: a run's metrics.jsonl as a CSV file, for spreadsheets and plotting tools.

    python -m hsuanwu_jax.to_csv RUN_DIR [--out FILE]   # default FILE: RUN_DIR/metrics.csv

One row per complete metrics record (a half-written last line of a running or killed run is left
out), one column per field.
"""

from __future__ import annotations

import argparse
import os
import sys

from hsuanwu_jax.outputs.records import read_metrics, write_csv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="a training run's workdir (holding metrics.jsonl)")
    parser.add_argument("--out", help="the CSV file to write (default: RUN_DIR/metrics.csv)")
    args = parser.parse_args(argv)
    metrics_path = os.path.join(args.run_dir, "metrics.jsonl")
    records = read_metrics(metrics_path)
    if not records:
        print(f"error: {metrics_path} has no complete metrics record", file=sys.stderr)
        return 2
    out = args.out or os.path.join(args.run_dir, "metrics.csv")
    write_csv(records, out)
    print(f"{out}: {len(records)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
