"""What the consumers make of the events they receive (read back with Event.from_message)."""

import pytest

from workflows.execution.events import MESSAGE_TYPE, RunEvent, StepEvent, StepsEvent
from workflows.web.consumers import DashboardConsumer, RunConsumer

pytestmark = pytest.mark.asyncio


def message(event) -> dict:
    return {"type": MESSAGE_TYPE, "event": event.as_message()}


def step(step_id: str) -> StepEvent:
    return StepEvent(
        run=1,
        step=step_id,
        status="running",
        attempt=1,
        worker="",
        error="",
        enqueued=None,
        started=None,
        finished=None,
        at=1.0,
    )


def run(workflow: int = 7) -> RunEvent:
    return RunEvent(
        run=1, workflow=workflow, status="running", error="", created=None, started=None, finished=None, at=1.0
    )


class Flushes:
    count = 0

    def schedule_flush(self):
        self.count += 1


def run_consumer() -> RunConsumer:
    consumer = RunConsumer()
    consumer.changed_steps, consumer.all_steps = set(), False
    consumer.flushes = Flushes()
    consumer.schedule_flush = consumer.flushes.schedule_flush
    return consumer


async def test_the_run_page_marks_changed_steps_and_whole_runs():
    consumer = run_consumer()

    await consumer.oaweb_event(message(step("a")))
    await consumer.oaweb_event(message(step("b")))
    assert consumer.changed_steps == {"a", "b"} and not consumer.all_steps

    await consumer.oaweb_event(message(StepsEvent(run=1, at=1.0)))
    await consumer.oaweb_event(message(run()))
    await consumer.oaweb_event({"type": MESSAGE_TYPE, "event": {"type": "something-new", "run": 1}})
    assert consumer.all_steps and consumer.changed_steps == {"a", "b"}
    assert consumer.flushes.count == 5  # whatever came, the page re-reads the run


async def test_the_dashboard_flushes_for_runs_its_user_may_see_only():
    consumer = DashboardConsumer()
    consumer.visible_workflows = {7: True, 8: False}
    consumer.schedule_flush = (flushes := Flushes()).schedule_flush

    await consumer.oaweb_event(message(step("a")))
    await consumer.oaweb_event(message(StepsEvent(run=1, at=1.0)))
    await consumer.oaweb_event({"type": MESSAGE_TYPE, "event": {"type": "something-new", "run": 1}})
    await consumer.oaweb_event(message(run(workflow=8)))
    assert flushes.count == 0

    await consumer.oaweb_event(message(run(workflow=7)))
    assert flushes.count == 1
