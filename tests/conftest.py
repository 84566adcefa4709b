"""What every test gets: the trainers it builds closed when it ends."""

import pytest

from hsuanwu_jax import DistributedTrainer


@pytest.fixture(autouse=True)
def close_trainers():
    """Closes every `DistributedTrainer` the test built and left open (its envs, test env and checkpoint
    manager), so that no test leaks them into the next."""
    built, closed = [], set()
    build, close = DistributedTrainer.__init__, DistributedTrainer.close

    def tracked_build(self, *args, **kwargs):
        build(self, *args, **kwargs)
        built.append(self)

    def tracked_close(self):
        closed.add(id(self))
        close(self)

    with pytest.MonkeyPatch.context() as patch:  # its own: a test may undo its monkeypatch fixture
        patch.setattr(DistributedTrainer, "__init__", tracked_build)
        patch.setattr(DistributedTrainer, "close", tracked_close)
        yield
    for trainer in built:
        if id(trainer) not in closed:
            close(trainer)
