"""`python manage.py run_workflow ID`: start a run, optionally wait for its end."""

import json
import time
from contextlib import contextmanager

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workflows import services
from workflows.definitions import strict_json
from workflows.execution.runs import RunRefused, wait_for_run
from workflows.execution.state import get_store
from workflows.execution.status import RunStatus, StepStatus
from workflows.models import Workflow, WorkflowVersion
from workflows.outages import describe, is_outage

# Not the run failing (1): a service it needs is down, and a script may retry later.
OUTAGE_EXIT_CODE = 2


def parse_input(item: str) -> tuple[str, object]:
    """k=v; v is read as JSON when it parses (numbers, true, lists), else as a string.

    JSON holding a value that can't be stored (NaN, 1e400, a lone surrogate,
    an integer over the digit limit) is refused, never taken as a string.
    """
    name, sep, raw = item.partition("=")
    if not sep or not name:
        raise CommandError(f"--input takes NAME=VALUE, got {item!r}")
    try:
        return name, strict_json.loads(raw)
    except strict_json.Refused as refused:
        raise CommandError(f"--input {name}: {refused}") from None
    except json.JSONDecodeError:
        return name, raw


class Command(BaseCommand):
    help = (
        "Run a workflow (exit 0 when the run succeeds with --wait, 1 when it fails, "
        "2 when Redis or the database is unreachable)."
    )
    # Run on worker machines and from scripts that read its output (--json): the system checks' warnings
    # (deploy settings the web server cares about) would only be noise there. `manage.py check` runs them.
    requires_system_checks = []

    def create_parser(self, prog_name, subcommand, **kwargs):
        # Every Django command has --version (Django's version); ours names a workflow version.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("workflow", help="workflow id (slug)")
        parser.add_argument("--version", dest="label", help="version label (default: latest)")
        parser.add_argument("--input", action="append", default=[], metavar="NAME=VALUE")
        parser.add_argument("--wait", action="store_true", help="wait for the run to finish")
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait (default 3600)")
        parser.add_argument("--priority", type=int, choices=range(10), metavar="0-9")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the run as JSON")
        parser.add_argument("--approve", action="store_true", help="approve each approval step as it waits (as 'cli')")
        parser.add_argument(
            "--event", action="append", default=[], metavar="NAME=JSON", help="post this event when a step waits for it"
        )

    def handle(self, *args, workflow, label, input, wait, timeout, priority, as_json, approve, event, **options):
        inputs = dict(parse_input(item) for item in input)
        answers = Answers(approve, dict(parse_input(item) for item in event))
        with self.exit_on_outage("nothing was started"):
            target = self.find_target(workflow, label)
            if not settings.EMBEDDED:
                # Before the component lookups, which would log a traceback per failed cache read.
                get_store().ping()
            try:
                run = services.start(target, inputs, priority=priority, trigger="cli")
            except RunRefused as exc:
                raise CommandError(f"run refused: {exc}") from exc
        with self.exit_on_outage(f"run {run.pk} was started; see how it ends with the API or the run page"):
            # Embedded mode executes the run inside this process: leaving early
            # would abandon it, so it always waits.
            if wait or settings.EMBEDDED:
                run = answers.wait_for(run, timeout) if answers else wait_for_run(run, timeout=timeout)
            self.report(run, as_json=as_json)
        if (wait or settings.EMBEDDED) and run.status != RunStatus.SUCCEEDED:
            raise SystemExit(1)

    @contextmanager
    def exit_on_outage(self, consequence: str):
        """Redis or the database unreachable: one line on stderr saying which and what it means, exit code 2."""
        try:
            yield
        except Exception as exc:
            service = is_outage(exc)
            if service is None:
                raise
            self.stderr.write(f"oaweb: {describe(service)} is unreachable; {consequence}")
            raise SystemExit(OUTAGE_EXIT_CODE) from exc

    def find_target(self, slug: str, label: str | None):
        try:
            workflow = Workflow.objects.get(slug=slug)
        except Workflow.DoesNotExist:
            raise CommandError(f"no workflow {slug!r}") from None
        if not label:
            return workflow
        try:
            return workflow.versions.get(version=label)
        except WorkflowVersion.DoesNotExist:
            raise CommandError(f"workflow {slug!r} has no version {label!r}") from None

    def report(self, run, as_json: bool) -> None:
        steps = list(run.steps.order_by("id").values("step_id", "status", "attempt", "error", "reused_from"))
        if as_json:
            summary = {
                "run": run.pk,
                "workflow": run.workflow.slug,
                "version": run.version.version,
                "status": run.status,
                "inputs": run.inputs,
                "outputs": run.outputs,
                "error": run.error,
                "created": run.created.isoformat(),
                "finished": run.finished.isoformat() if run.finished else None,
                "steps": [
                    {"id": s["step_id"], "status": s["status"], "attempts": s["attempt"], "error": s["error"]}
                    for s in steps
                ],
            }
            self.stdout.write(json.dumps(summary, indent=2))
            return
        self.stdout.write(f"run {run.pk} of {run.workflow.slug}@{run.version.version}: {run.status}")
        for s in steps:
            final = "" if s["status"] in StepStatus.FINAL else " …"
            error = f"  {s['error']}" if s["error"] else ""
            self.stdout.write(f"  {s['step_id']}: {s['status']}{final} (attempts {s['attempt']}){error}")
        if run.outputs is not None:
            self.stdout.write(f"outputs: {json.dumps(run.outputs)}")


class Answers:
    """What the command answers for a person while it waits: approvals (--approve) and events (--event)."""

    POLL_SECONDS = 0.1

    def __init__(self, approve: bool, events: dict):
        self.approve, self.events = approve, events

    def __bool__(self) -> bool:
        return self.approve or bool(self.events)

    def wait_for(self, run, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.status in RunStatus.FINAL:
                return run
            for step in run.steps.filter(status=StepStatus.WAITING):
                self.answer(run, step)
            time.sleep(self.POLL_SECONDS)
        return run

    def answer(self, run, step) -> None:
        wait = step.wait or {}
        try:
            if wait.get("kind") == "approval" and self.approve:
                services.decide(step, approved=True, by="cli", comment="--approve")
            elif wait.get("kind") == "event" and wait.get("event") in self.events:
                services.post_event(run, wait["event"], self.events[wait["event"]])
        except services.WaitRefused:
            pass  # decided or delivered meanwhile (another person, the deadline)
