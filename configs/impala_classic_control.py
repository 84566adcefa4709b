"""IMPALA on EnvPool's classic-control and Box2D tasks, discrete and continuous, with one set of settings.

Set only `env_id`. Measured as shipped, 5 seeds, 5M env steps, final greedy test (benchmarks/RESULTS.md, "The
classic-control preset over every task" for the discrete tasks, "Continuous classic control: a Gaussian that
widened without limit" for the continuous ones; the value network of its own is the default for mlp encoders):
  solved on 5 of 5 seeds: CartPole-v1 (500), Acrobot-v1 (-75 to -85; solved at -100), LunarLander-v2
  (200.5 to 239; 200), Pendulum-v1 (-131 to -138; -250), LunarLanderContinuous-v2 (252 to 277; 200);
  walks, not solved: BipedalWalker-v3 (2 of 5 at 300; final greedy 300.8 / 17.4 / 324.8 / 186.8 / 270.0,
  median 270: tests swing by hundreds);
  not solved: MountainCar-v0 (-200 on every seed) and MountainCarContinuous-v0 (0.0 on every seed, the return
  of not moving): no uniformly random episode of 2,000 reaches MountainCar's flag (2 of 2,000 for the
  continuous one), so the policy commits (or learns to save the action cost) before it has a reward to learn
  from; the collapse alarm says so on MountainCar-v0. BipedalWalkerHardcore-v3 (greedy -8.0 / -30.9 / -13.8 /
  -15.5 / -33.4, random -110.4; solved at 300): the mean action stays up without getting far, the sampled
  policy falls (RESULTS.md, "BipedalWalkerHardcore-v3"; a PPO tuned for it scores 48.6 after 100M env steps).
IQM over these 9 tasks, scores normalised from random play (0) to the threshold (1): 0.86 (95% CI 0.80-0.91).
PopArt normalises the value targets, whose scale differs by orders of magnitude between these tasks
(RESULTS.md, "PopArt"); lr 3e-3 (RESULTS.md, "The classic-control preset, second look"). Box actions are
tanh-squashed samples whose entropy the bonus takes (a bonus on the Gaussian's own entropy widened it far past
the bounds: LunarLanderContinuous failed 3 of 6 runs that way).
benchmarks/suite.py runs this preset over the tasks and seeds.
"""

from hsuanwu_jax.config import default_config


def get_config():
    cfg = default_config()
    cfg.env_id = "CartPole-v1"
    cfg.popart = True
    cfg.action_squash = "sample"  # Box actions only (see above)
    cfg.lr = 3e-3
    cfg.num_train_steps = 5_000_000
    cfg.test_every = 1_000_000
    cfg.log_every = 100_000
    return cfg
