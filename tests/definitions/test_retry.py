"""Retry policies and the delays between attempts."""

import random

import pytest

from workflows.definitions.retry import RetryPolicy, retry_delay


def test_defaults():
    policy = RetryPolicy.from_config(None, None)
    assert policy == RetryPolicy(max_attempts=1, backoff="exponential", delay=1.0, max_delay=300.0, jitter=True)


def test_step_keys_override_component_keys():
    policy = RetryPolicy.from_config(
        {"max_attempts": 5, "jitter": False}, {"max_attempts": 2, "delay": 3, "backoff": "fixed"}
    )
    assert policy == RetryPolicy(max_attempts=5, backoff="fixed", delay=3, max_delay=300.0, jitter=False)


def test_unknown_keys_are_ignored():
    assert RetryPolicy.from_config({"bogus": 1}, {"other": 2}) == RetryPolicy()


def test_fixed_backoff_waits_the_same_each_time():
    policy = RetryPolicy(max_attempts=4, backoff="fixed", delay=2.5, jitter=False)
    assert [retry_delay(policy, attempt) for attempt in (1, 2, 3)] == [2.5, 2.5, 2.5]


def test_exponential_backoff_doubles():
    policy = RetryPolicy(max_attempts=5, backoff="exponential", delay=1, jitter=False)
    assert [retry_delay(policy, attempt) for attempt in (1, 2, 3, 4)] == [1, 2, 4, 8]


def test_backoff_is_capped_by_max_delay():
    policy = RetryPolicy(backoff="exponential", delay=10, max_delay=60, jitter=False)
    assert [retry_delay(policy, attempt) for attempt in (1, 2, 3, 4, 100)] == [10, 20, 40, 60, 60]
    assert retry_delay(RetryPolicy(backoff="fixed", delay=90, max_delay=60, jitter=False), 1) == 60


def test_a_huge_attempt_number_does_not_overflow():
    assert retry_delay(RetryPolicy(delay=1, max_delay=300, jitter=False), 10_000) == 300


def test_zero_delay_stays_zero_with_jitter():
    assert retry_delay(RetryPolicy(delay=0, jitter=True), 3) == 0


@pytest.mark.parametrize("attempt, full", [(1, 2.0), (2, 4.0), (3, 8.0), (10, 30.0)])
def test_equal_jitter_stays_between_half_and_the_full_delay(attempt, full):
    policy = RetryPolicy(backoff="exponential", delay=2, max_delay=30, jitter=True)
    rng = random.Random(7)
    delays = [retry_delay(policy, attempt, rng) for _ in range(500)]
    assert all(full / 2 <= delay <= full for delay in delays)
    assert max(delays) - min(delays) > full / 4  # it does vary


def test_jitter_is_reproducible_with_a_seeded_random():
    policy = RetryPolicy(delay=1, jitter=True)
    first = [retry_delay(policy, 3, random.Random(42)) for _ in range(3)]
    assert first[0] == first[1] == first[2]


def test_should_retry_until_max_attempts():
    policy = RetryPolicy(max_attempts=3)
    assert [policy.should_retry(attempt) for attempt in (1, 2, 3)] == [True, True, False]
