"""Command line: train, test and export one config (cli/train.py).

    python -m hsuanwu_jax.train --config configs/impala_cartpole.py --workdir runs/cartpole \
        [--config.<field>=<value> ...]

`--config` takes a config file or a preset's name (`--config impala_atari`), as `load_config` does.
"""

from hsuanwu_jax.cli.train import run, train_command

__all__ = ["train_command"]

if __name__ == "__main__":
    run()
