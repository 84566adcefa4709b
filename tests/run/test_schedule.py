"""The log / test / checkpoint schedule (run/schedule.py)."""

from hsuanwu_jax.run.schedule import Schedule


def test_the_schedule_logs_tests_and_checkpoints_when_due():
    schedule = Schedule(0, log_every=100, test_every=250, checkpoint_every=300)
    seen = []
    for steps in range(40, 1000, 40):  # 40 env steps per update
        due = schedule.due(steps, finished=steps >= 960)
        seen.append((steps, *due))
        if due.log:
            schedule.logged(steps, due.test)
        if due.checkpoint:
            schedule.checkpointed(steps)
    logs = [steps for steps, log, _, _ in seen if log]
    tests = [steps for steps, _, test, _ in seen if test]
    checkpoints = [steps for steps, _, _, checkpoint in seen if checkpoint]
    assert tests == [280, 520, 760] and set(tests) <= set(logs)  # the first update past each multiple of 250
    # 100 steps after the last line, with every test and checkpoint, and at the end.
    assert logs == [120, 240, 280, 320, 440, 520, 600, 720, 760, 880, 920, 960]
    assert checkpoints == [320, 600, 920, 960]  # past each multiple of 300, and at the end
    never = Schedule(0, log_every=10**9, test_every=0, checkpoint_every=0)
    assert never.due(10**8, finished=False) == (False, False, False)
    assert never.due(10**8, finished=True) == (True, False, True)
    assert never.due(10**8, finished=False, stopping=True) == (True, False, True)
