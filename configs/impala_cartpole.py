"""IMPALA on CartPole-v1: the default config (see hsuanwu_jax/config.py for every field)."""

from hsuanwu_jax.config import default_config


def get_config():
    cfg = default_config()
    cfg.env_id = "CartPole-v1"
    return cfg
