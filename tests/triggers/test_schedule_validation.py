"""A schedule that could not run is never stored: bad cron, bad time zone, inputs that don't fit."""

import pytest
from django.core.exceptions import ValidationError

from tests.triggers.helpers import make_schedule
from workflows.triggers.cron import split_cron
from workflows.triggers.models import Schedule


@pytest.mark.parametrize(
    "cron",
    ["", "* * * *", "* * * * * *", "61 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "*/0 * * * *", "a b c d e"],
)
def test_bad_cron_is_refused(make_workflow, cron):
    with pytest.raises(ValidationError) as caught:
        make_schedule(make_workflow(), cron=cron)
    assert "cron" in caught.value.message_dict
    assert not Schedule.objects.exists()


@pytest.mark.parametrize("cron", ["* * * * *", "*/15 9-17 * * 1-5", "0 3 1,15 * *", "30 2 * 6 0"])
def test_good_cron_is_accepted(make_workflow, cron):
    assert make_schedule(make_workflow(), cron=cron).pk


def test_cron_fields_are_named_in_crontab_order():
    assert split_cron("1 2 3 4 5") == {
        "minute": "1",
        "hour": "2",
        "day_of_month": "3",
        "month_of_year": "4",
        "day_of_week": "5",
    }


@pytest.mark.parametrize("zone", ["", "Mars/Olympus", "UTC+2", "../etc/passwd"])
def test_unknown_timezone_is_refused(make_workflow, zone):
    with pytest.raises(ValidationError) as caught:
        make_schedule(make_workflow(), timezone=zone)
    assert "timezone" in caught.value.message_dict


def test_iana_timezone_is_accepted(make_workflow):
    assert make_schedule(make_workflow(), timezone="Europe/Paris").timezone == "Europe/Paris"


@pytest.mark.parametrize("inputs", [{"greeting": 5}, {"nope": "x"}, ["not", "an", "object"]])
def test_inputs_that_do_not_fit_the_workflow_are_refused(make_workflow, inputs):
    with pytest.raises(ValidationError) as caught:
        make_schedule(make_workflow(), inputs=inputs)
    assert "inputs" in caught.value.message_dict
    assert not Schedule.objects.exists()


def test_inputs_that_fit_are_stored(make_workflow):
    schedule = make_schedule(make_workflow(), inputs={"greeting": "morning"})
    schedule.refresh_from_db()
    assert schedule.inputs == {"greeting": "morning"}


def test_names_are_unique_per_workflow(make_workflow):
    workflow = make_workflow()
    make_schedule(workflow, name="daily")
    with pytest.raises(ValidationError):
        make_schedule(workflow, name="daily")
