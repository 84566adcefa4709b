"""IMPALA on EnvPool's MiniGrid tasks with Hsuanwu's partial-view encoding (`fully_observable=False`, minigrid's
FlatObsWrapper): the agent's 7x7x3 view flattened and the mission one-hot, one float32 vector per step
(envs/dict_obs.py), standardised by running statistics (`obs_norm`, as RL Zoo's MiniGrid PPO does), into two
(64, 64) MLPs (policy and value), PopArt, lr 6e-4 (3e-3, the classic-control preset's, learned Empty-Random-5x5 to
0.95 and then lost it: benchmarks/RESULTS.md, "MiniGrid").

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
    cfg.obs_norm = True  # the view's object, colour and state codes and the constant mission, standardised
    cfg.lr = 6e-4
    cfg.test_policy = "sampled"
    cfg.num_train_steps = 2_000_000
    cfg.test_every = 500_000
    cfg.log_every = 100_000
    return cfg
