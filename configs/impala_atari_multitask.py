"""One agent over three Atari games at once, with per-task PopArt (Hessel et al., "Multi-task Deep
Reinforcement Learning with PopArt", AAAI 2019): the IMPALA protocol of configs/impala_atari.py with the full
18-action set (one policy head for every game) and unclipped rewards, so each game's value targets keep their
own scale and per-task PopArt normalises them (one value output and one set of statistics per game).

The games: Pong (scores -21 to 21, a point per rally), Breakout (1-7 per brick, hundreds a game) and Qbert (25
per cube, thousands a game), scales apart by orders of magnitude as in the PopArt paper, and each learned by the
single-task preset (greedy at 2M env steps: Pong -10.1, rising, 19.0 at 2.5M in an earlier run; Breakout 131.2;
Qbert 727.5; Boxing-v5 did not move in 2M: benchmarks/RESULTS.md, "The Atari preset over six games").

Each actor thread plays one game (3 threads on a 2-core machine; "auto" keeps a multiple of the games); a batch
holds three rollouts as they arrive (about one of each game: `env_steps_share/<game>` in the metrics shows the
split), so an update learns from about 80 samples of every game, as the single-task preset's updates do from
its one game. 2M env steps per game (6M in all). Run it, or the same without PopArt (one shared value scale), with
`python -m hsuanwu_jax.train --config configs/impala_atari_multitask.py [--config.popart=False]`; `test()`
plays every game and reports each one's score, the worst game and the median and IQM human-normalised score.

Measured (one seed, 2M env steps per game, greedy, 10 games each; benchmarks/RESULTS.md, "One agent over three
Atari games"): Pong -15.0, Breakout 31.3, Qbert 600.0, against random play with 18 actions -20.6 / 1.8 / 207.5 and
the single-task preset at the same per-game steps -10.3 / 98.1 / 672.5: every game learned, each more slowly than
alone (median human-normalised 0.161 against 0.295). Without PopArt (one shared value scale), run to 5.0M of its 6M
env steps in one session, its own greedy test at 5M env steps (1.67M per game): Pong -21.0, Breakout 2.4, Qbert
355.0, against the PopArt run's own test at the same point: -12.6, 25.9, 405.0; median human-normalised 0.014
against 0.229: every game below the PopArt run; Pong not above random play.
"""

import pathlib

from hsuanwu_jax.config import load_config


def get_config():
    cfg = load_config(str(pathlib.Path(__file__).with_name("impala_atari.py")))
    cfg.tasks = ("Pong-v5", "Breakout-v5", "Qbert-v5")
    cfg.env_id = cfg.tasks[0]
    cfg.env_kwargs = dict(cfg.env_kwargs, full_action_space=True, reward_clip=False)
    cfg.test_env_kwargs = dict(cfg.test_env_kwargs, full_action_space=True)
    cfg.batch_size = 24  # three rollouts per update, about one of each game
    cfg.popart = True
    cfg.num_train_steps = 6_000_000  # 2M per game
    cfg.test_every = 1_000_000
    cfg.experiment = "atari_multitask"
    return cfg
