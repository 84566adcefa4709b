"""The seed's IMPALA settings on Atari, for parity runs against Hsuanwu (hsuanwu_jax/config/defaults.py lists every field).

The IMPALA paper's protocol of configs/impala_atari.py with the learning settings the seed shipped: unroll 80,
batch 32 env rollouts (2,560 samples per update), RMSProp lr 4e-4, LeCun init, 2 actor threads x 16 envs
(how they compare with the impala_atari preset: benchmarks/RESULTS.md, "Pong-v5"). For the seed's settings on
another task, set env_id (and its env_kwargs).
"""

import pathlib

from hsuanwu_jax.config import load_config


def get_config():
    cfg = load_config(str(pathlib.Path(__file__).with_name("impala_atari.py")))
    cfg.weight_init = "lecun"
    cfg.num_envs = 16
    cfg.num_steps = 80
    cfg.batch_size = 32
    cfg.lr = 4e-4
    return cfg
