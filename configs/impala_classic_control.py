"""IMPALA on EnvPool's classic-control and Box2D tasks, discrete and continuous, with one set of settings.

Set only `env_id`. Measured as shipped, 5 seeds, 5M env steps, final greedy test (benchmarks/RESULTS.md, "The
classic-control preset over every task"; the value network of its own is the default for the mlp encoder):
  solved on 5 of 5 seeds: CartPole-v1 (500), Acrobot-v1 (-75 to -85; solved at -100), LunarLander-v2
  (200.5 to 239; 200), Pendulum-v1 (-126 to -133; -250);
  not solved: MountainCar-v0 (-200 on every seed: no uniformly random episode of 2,000 reaches the flag, so
  there is no reward to learn from; the policy commits first and the collapse alarm says so).
Tasks with partial results at the time of writing are listed in RESULTS.md with what they reached.
PopArt normalises the value targets, whose scale differs by orders of magnitude between these tasks
(RESULTS.md, "PopArt"); lr 3e-3 (RESULTS.md, "The classic-control preset, second look").
benchmarks/suite.py runs this preset over the tasks and seeds.
"""

from hsuanwu_jax.config import default_config


def get_config():
    cfg = default_config()
    cfg.env_id = "CartPole-v1"
    cfg.popart = True
    # Box actions: the env receives tanh-squashed samples, and the entropy bonus is that of those actions, which
    # stops growing past the bounds (RESULTS.md, "Continuous classic control: a Gaussian that widened without
    # limit"); discrete tasks do not read it.
    cfg.action_squash = "sample"
    cfg.lr = 3e-3
    cfg.num_train_steps = 5_000_000
    cfg.test_every = 1_000_000
    cfg.log_every = 100_000
    return cfg
