"""Step logs on the run page: the step panel's log section, and the lines its socket pushes as a step writes them.

Both render templates/runs/_log_lines.html, so the lines a page shows live
and the ones it shows after a reload never differ. Lines are the
component's text: the template escapes them.
"""

from dataclasses import dataclass

from django.template.loader import render_to_string

from workflows.execution import step_logs
from workflows.execution.events import StepLogEvent
from workflows.execution.models import StepRun
from workflows.execution.status import StepStatus


@dataclass(frozen=True)
class AttemptLines:
    number: int
    lines: list[str]
    live: bool  # the attempt runs: its lines come over the socket


def of_step(step: StepRun) -> list[AttemptLines]:
    """The attempts that logged something, oldest first, and the running one (its lines arrive live)."""
    shown = [AttemptLines(number, lines, False) for number, _, lines in step_logs.stored(step.pk) if lines]
    if step.status == StepStatus.RUNNING and all(attempt.number != step.attempt for attempt in shown):
        shown.append(AttemptLines(step.attempt, [], True))
    return shown


def live_html(event: StepLogEvent) -> str:
    """A batch of a running attempt's lines as the run page's socket sends it (static/oaweb/run.js appends it)."""
    context = {"step_id": event.step, "attempt": event.attempt, "first": event.first, "lines": event.lines}
    return render_to_string("runs/_log_lines.html", {**context, "batch": True})
