"""`manage.py runworker`: refuses what it can't do, with a message instead of a traceback."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def test_runworker_needs_redis(settings):
    settings.EMBEDDED = True

    with pytest.raises(CommandError, match="REDIS_URL"):
        call_command("runworker")


@pytest.mark.parametrize("value", ["8", "2,8", "a,b", "8,2,1"])
def test_runworker_refuses_a_bad_autoscale(settings, value):
    settings.EMBEDDED = False

    with pytest.raises(CommandError, match="MAX,MIN"):
        call_command("runworker", "--autoscale", value)


def test_runworker_refuses_zero_concurrency(settings):
    settings.EMBEDDED = False

    with pytest.raises(CommandError, match="at least 1"):
        call_command("runworker", "--concurrency", "0")
