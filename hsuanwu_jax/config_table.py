"""`python -m hsuanwu_jax.config_table`: the command line in cli/config_table.py."""

import sys

from hsuanwu_jax.cli.config_table import main

if __name__ == "__main__":
    sys.exit(main())
