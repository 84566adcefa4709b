"""IMPALA on EnvPool's MiniGrid tasks with Hsuanwu's partial-view encoding (`fully_observable=False`, minigrid's
FlatObsWrapper): the agent's 7x7x3 view flattened and the mission one-hot, one float32 vector per step
(envs/dict_obs.py), into the classic-control preset's learner (two (64, 64) MLPs, PopArt, lr 3e-3).

Set only `env_id` (`MiniGrid-<Task>-v0`). Rewards are 1 - 0.9 x (steps taken / the task's step limit) on
success, else 0: returns lie in [0, 1). Tests play the sampled policy (`test_policy="sampled"`): the view is
partial and egocentric, so places that look alike get the same greedy action and a greedy agent can walk in
a loop until the step limit, where the policy that learned (and trained) samples its way out.
Measured results: benchmarks/RESULTS.md, "MiniGrid".
"""

from hsuanwu_jax.config import default_config


def get_config():
    cfg = default_config()
    cfg.env_id = "MiniGrid-DoorKey-5x5-v0"
    cfg.popart = True
    cfg.lr = 3e-3
    cfg.test_policy = "sampled"
    cfg.num_train_steps = 2_000_000
    cfg.test_every = 500_000
    cfg.log_every = 100_000
    return cfg
