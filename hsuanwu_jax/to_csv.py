"""`python -m hsuanwu_jax.to_csv`: the command line in cli/to_csv.py."""

import sys

from hsuanwu_jax.cli.to_csv import main

if __name__ == "__main__":
    sys.exit(main())
