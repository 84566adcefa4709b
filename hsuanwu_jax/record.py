"""`python -m hsuanwu_jax.record`: the command line in cli/record.py."""

import sys

from hsuanwu_jax.cli.record import main

if __name__ == "__main__":
    sys.exit(main())
