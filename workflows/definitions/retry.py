"""Retry policy: how many attempts a step gets and how long it waits between them.

A step's `retry` keys override its component's; missing keys take the
defaults below. Delays:

* fixed: `delay` before every retry;
* exponential: `delay * 2 ** (attempt - 1)`: 1 s, 2 s, 4 s ... after attempts 1, 2, 3;

both capped by `max_delay`. With `jitter`, the wait is "equal jitter": half
the computed delay plus a random part up to the other half. Retries of many
steps that failed together spread out (unlike no jitter), yet each still
waits at least half its backoff (unlike "full jitter", uniform(0, d), which
may retry a struggling service almost at once).
"""

import random
from dataclasses import dataclass, fields

BACKOFFS = ("fixed", "exponential")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 1
    backoff: str = "exponential"
    delay: float = 1.0
    max_delay: float = 300.0
    jitter: bool = True

    @classmethod
    def from_config(cls, step_retry: dict | None, component_retry: dict | None) -> "RetryPolicy":
        """The policy for a step: its own keys over its component's over the defaults.

        Unknown keys are ignored (the validator reports them for steps).
        """
        known = {field.name for field in fields(cls)}
        values = {}
        for config in (component_retry, step_retry):
            if isinstance(config, dict):
                values.update({key: value for key, value in config.items() if key in known})
        return cls(**values)

    def should_retry(self, attempt: int) -> bool:
        """Whether a step whose attempt number `attempt` (1-based) failed gets another."""
        return attempt < self.max_attempts


def retry_delay(policy: RetryPolicy, attempt: int, rng=random) -> float:
    """Seconds to wait before attempt `attempt + 1`, after attempt `attempt` (1-based) failed."""
    base = max(0.0, float(policy.delay))
    cap = max(0.0, float(policy.max_delay))
    if policy.backoff == "exponential":
        # Past 2**64 the cap has long been reached; this also spares a huge float.
        exponent = min(max(attempt - 1, 0), 64)
        seconds = min(base * 2**exponent, cap)
    else:
        seconds = min(base, cap)
    if policy.jitter and seconds > 0:
        half = seconds / 2
        seconds = half + rng.uniform(0, half)
    return seconds
