"""Successes of one run that arrive while another commits are recorded together, in one commit."""

import threading
from types import SimpleNamespace

from tests.conftest import wait_until
from workflows.execution import commits
from workflows.execution.messages import Advance


def success(run_id, step_run_id):
    return SimpleNamespace(claimed=SimpleNamespace(run_id=run_id, step_run_id=step_run_id))


def test_successes_arriving_during_a_commit_share_the_next_one(monkeypatch):
    first_commit_may_end = threading.Event()
    first_commit_began = threading.Event()
    batches = []

    def succeed_many(successes, version, go_on_with, task_id):
        batches.append(sorted(s.claimed.step_run_id for s in successes))
        if len(batches) == 1:
            first_commit_began.set()
            first_commit_may_end.wait(5)
        ids = frozenset(s.claimed.step_run_id for s in successes)
        return Advance(recorded=True, recorded_ids=ids)

    monkeypatch.setattr(commits.transitions, "succeed_many", succeed_many)
    groups = commits.SuccessGroups()
    results = {}

    def record(step_run_id, run_id=1):
        results[step_run_id] = groups.record([success(run_id, step_run_id)], version=None)

    first = threading.Thread(target=record, args=(1,))
    first.start()
    assert first_commit_began.wait(5)
    others = [threading.Thread(target=record, args=(n,)) for n in (2, 3)]
    other_run = threading.Thread(target=record, args=(9, 2))  # another run: not held back
    for thread in [*others, other_run]:
        thread.start()
    other_run.join(5)
    assert not other_run.is_alive()
    assert wait_until(lambda: len(groups._queued.get(1, [])) == 2, timeout=5)
    first_commit_may_end.set()
    for thread in [first, *others]:
        thread.join(5)

    assert batches == [[1], [9], [2, 3]]
    assert all(results[n].recorded_ids >= {n} for n in (1, 2, 3, 9))


def test_a_failed_commit_is_raised_in_every_thread_of_its_group(monkeypatch):
    def succeed_many(successes, version, go_on_with, task_id):
        raise RuntimeError("the database is gone")

    monkeypatch.setattr(commits.transitions, "succeed_many", succeed_many)
    monkeypatch.setattr(commits, "retrying", lambda action, *args: action(*args))
    groups = commits.SuccessGroups()
    try:
        groups.record([success(1, 1)], version=None)
    except RuntimeError as error:
        assert "gone" in str(error)
    else:
        raise AssertionError("the failure was swallowed")
    # The run is free again: the next success commits on its own.
    monkeypatch.setattr(
        commits.transitions, "succeed_many", lambda s, v, g, t: Advance(recorded=True, recorded_ids=frozenset({2}))
    )
    assert groups.record([success(1, 2)], version=None).recorded
