"""IMPALA on EnvPool's classic-control and Box2D tasks, discrete and continuous, with one set of settings.

Set only `env_id`: CartPole-v1, Acrobot-v1, MountainCar-v0, LunarLander-v2 (discrete), Pendulum-v1,
MountainCarContinuous-v0, LunarLanderContinuous-v2 (a diagonal Gaussian; samples clipped to the bounds).
PopArt normalises the value targets, whose scale differs by orders of magnitude between these tasks
(benchmarks/RESULTS.md, "PopArt"); lr 3e-3 is the rate that learned every task of the suite with it
(RESULTS.md, "The classic-control preset, second look"). benchmarks/suite.py runs this preset over the
tasks and seeds.
"""

from hsuanwu_jax.config import default_config


def get_config():
    cfg = default_config()
    cfg.env_id = "CartPole-v1"
    cfg.popart = True
    cfg.lr = 3e-3
    cfg.num_train_steps = 5_000_000
    cfg.test_every = 1_000_000
    cfg.log_every = 100_000
    return cfg
