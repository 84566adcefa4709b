"""IMPALA on EnvPool's MiniGrid tasks with Hsuanwu's partial-view encoding (`fully_observable=False`, minigrid's
FlatObsWrapper): the agent's 7x7x3 view flattened and the mission one-hot, one float32 vector per step
(envs/dict_obs.py), standardised by running statistics (`obs_norm`, as RL Zoo's MiniGrid PPO does), into two
(64, 64) MLPs (policy and value), PopArt, lr 6e-4 (3e-3, the classic-control preset's, learned Empty-Random-5x5 to
0.95 and then lost it: benchmarks/RESULTS.md, "MiniGrid").

Set only `env_id` (`MiniGrid-<Task>-v0`). Rewards are 1 - 0.9 x (steps taken / the task's step limit) on
success, else 0: returns lie in [0, 1). Tests play the sampled policy (`test_policy="sampled"`): the view is
partial and egocentric, so places that look alike get the same greedy action and a greedy agent can walk in
a loop until the step limit, where the policy that learned (and trained) samples its way out.

Measured as shipped, 3 seeds, 2M env steps, median final sampled test (greedy beside it in
benchmarks/results/domain_minigrid_floor001.json; random play in brackets; RL Zoo's PPO with the same encoding
after it): Empty-Random-5x5 0.969 (0.331; 0.968), DoorKey-5x5 0.964 (0.029; 0.964), Unlock 0.970 (0.013;
0.963), KeyCorridorS3R1 0.948 (0.027; 0.949), LavaGapS5 0.944 (0.046), MultiRoom-N2-S4 0.543 (0.005),
RedBlueDoors-6x6 0.870 over 7 seeds, which split between 0.41-0.48 and 0.87-0.92 (0.065; 0.860); not learned:
DoorKey-8x8 0.000 (0.009: successes too rare to move the policy in 2M env steps; the stall alarm says `policy
still uniform`). IQM normalised score 0.88 (95% CI 0.84-0.94) (benchmarks/RESULTS.md, "RedBlueDoors-6x6 over
seven seeds with each PopArt floor"; the first table, with PopArt's std floor at a tenth of the largest
reward: "The MiniGrid preset over eight tasks").
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
