"""Executing steps: claim, resolve inputs, call the component, record, and carry on.

Called by the Celery task (tasks.py) with one step's message. When the
step's success makes a child ready that this worker may run (dispatch.
continuable), the success's own transaction claims that child for this
worker, and it runs here at once: no broker hop, no second claim. A
budget bounds the carrying on, so that priorities and other runs still get
their turn; what isn't continued is published.
"""

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import fastjsonschema
from django.conf import settings
from django.db import connections
from django.utils import timezone

from registry import lookup
from registry.catalog import CATALOG, get_callable
from registry.context import StepContext
from workflows.conditions import ConditionError, evaluate_condition
from workflows.execution import call_threads, dispatch, events, failpoints, transitions
from workflows.execution.connections import retrying
from workflows.execution.heartbeat import running_steps
from workflows.execution.messages import Advance, ClaimedStep, StepMessage, StepState
from workflows.execution.plans import Compiled, compiled
from workflows.execution.state import get_store
from workflows.execution.status import StepStatus
from workflows.models import Run, StepRun
from workflows.references import ReferenceError, resolve
from workflows.retry import RetryPolicy, retry_delay

log = logging.getLogger(__name__)


class StepFailure(Exception):
    """A step's attempt failed; `retryable` is False when trying again can't help."""

    def __init__(self, message: str, retryable: bool = True, inputs: dict | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.inputs = inputs


@dataclass
class Budget:
    """How much more this delivery may carry on with ready children before publishing them."""

    steps: int
    until: float

    @classmethod
    def fresh(cls) -> "Budget":
        return cls(settings.OAWEB_CONTINUE_STEPS, time.monotonic() + settings.OAWEB_CONTINUE_SECONDS)

    def left(self) -> bool:
        return self.steps > 0 and time.monotonic() < self.until


def worker_name() -> str:
    # Computed each time, not cached: a prefork child has its own pid.
    return f"{socket.gethostname()}:{os.getpid()}"


def execute(message: StepMessage, task_id: str = "") -> None:
    """Run the message's step if this delivery wins the claim, then the children it continues with."""
    claim = retrying(transitions.claim, message.step_run_id, worker_name(), task_id, message.delay)
    if claim is None:
        return  # a duplicate delivery, a cancelled run or a finished step
    claimed, started_run = claim
    if started_run:
        events.run_changed(Run.objects.get(pk=claimed.run_id))
    budget = Budget.fresh()
    upstream = message.upstream
    while claimed is not None:
        claimed, upstream = run_claimed(claimed, upstream, budget)


def run_claimed(claimed: ClaimedStep, upstream: dict | None, budget: Budget):
    """Run one claimed step and record it; returns (the child to continue with or None, its upstream)."""
    events.step_changed(StepState.of_claimed(claimed, StepStatus.RUNNING))
    failpoints.hit("step.claimed")
    version = compiled(claimed.version_id, claimed.version_hash)
    step = version.plan.steps[claimed.step_id]
    context = StepContext(run_id=claimed.run_id, step_id=claimed.step_id, attempt=claimed.attempt)
    running_steps.add(claimed.step_run_id, claimed.attempt, context)
    outputs = None
    try:
        try:
            outcome = attempt(claimed, step, version, upstream, context)
        except StepFailure as failure:
            advance = record_failure(claimed, version, step, failure)
        else:
            if outcome is SKIPPED:
                advance = retrying(transitions.skip, claimed, version.plan)
            else:
                inputs, outputs, size = outcome
                go_on_with = dispatch.continuable(version, claimed.step_id) if budget.left() else ()
                ready_upstream = handoff(claimed.step_id, outputs, size, version)
                advance = retrying(
                    succeed, claimed, version, inputs, outputs, go_on_with, claimed.task_id, ready_upstream
                )
    finally:
        running_steps.remove(claimed.step_run_id)
    dispatch.after_commit(advance, from_step=True)
    if advance.continued is None:
        return None, None
    budget.steps -= 1
    failpoints.hit("step.continuing")
    return advance.continued, {claimed.step_id: outputs}


def succeed(claimed, version, inputs, outputs, go_on_with, task_id, ready_upstream) -> Advance:
    failpoints.hit("step.before_commit")
    advance = transitions.succeed(claimed, version, inputs, outputs, go_on_with, task_id)
    if ready_upstream and advance.ready:
        messages = tuple(
            _with_upstream(message, ready_upstream.get(state.step_id))
            for message, state in zip(advance.ready, advance.changed[1:], strict=True)
        )
        advance = Advance(**{**advance.__dict__, "ready": messages})
    return advance


def _with_upstream(message: StepMessage, upstream: dict | None) -> StepMessage:
    if upstream is None:
        return message
    return StepMessage(**{**message.__dict__, "upstream": upstream})


# A child that reads only this step's outputs gets them in its task message
# when they are this small, as a Celery chain passes a result: one query
# less for it. Larger outputs stay out of the broker; the child reads them.
HANDOFF_MAX_BYTES = 8 * 1024


def handoff(step_id: str, outputs: dict, outputs_bytes: int, version: Compiled) -> dict[str, dict]:
    """{child: the upstream outputs to send in its message} for the children that read only this step."""
    if outputs_bytes > HANDOFF_MAX_BYTES:
        return {}
    reads = version.reads
    readers = [child for child in version.plan.children[step_id] if reads[child] and reads[child] <= {step_id}]
    return {child: {step_id: outputs} for child in readers}


def record_failure(claimed: ClaimedStep, version: Compiled, step: dict, failure: StepFailure) -> Advance:
    info = lookup.get(claimed.component)
    policy = RetryPolicy.from_config(step.get("retry"), info.retry if info else None)
    if failure.retryable and claimed.attempt < policy.max_attempts:
        wait = retry_delay(policy, claimed.attempt)
        return retrying(transitions.retry, claimed, failure.inputs, str(failure), wait)
    return retrying(transitions.fail, claimed, version.plan, failure.inputs, str(failure))


# --- one attempt ------------------------------------------------------------------

SKIPPED = object()


def attempt(claimed: ClaimedStep, step: dict, version: Compiled, upstream: dict | None, context: StepContext):
    """Resolve inputs, check `when`, call the component: (inputs, outputs, their size) or SKIPPED.

    Raises StepFailure. Nothing else escapes: an unexpected error fails the
    attempt with its reason instead of leaving the step to its lease.
    """
    try:
        return _attempt(claimed, step, version, upstream, context)
    except StepFailure:
        raise
    except Exception as exc:
        log.exception("step %s of run %s: unexpected error", claimed.step_id, claimed.run_id)
        raise StepFailure(f"internal error: {type(exc).__name__}: {exc}", retryable=False) from exc


def _attempt(claimed: ClaimedStep, step: dict, version: Compiled, upstream: dict | None, context: StepContext):
    reads = version.reads[claimed.step_id]
    if upstream is None or not reads <= upstream.keys():
        upstream = outputs_of(claimed.run_id, reads) if reads else {}
    if step.get("when"):
        try:
            if not evaluate_condition(step["when"], claimed.run_inputs, upstream):
                return SKIPPED
        except (ConditionError, ReferenceError) as exc:
            raise StepFailure(f"when: {exc}", retryable=False) from exc
    try:
        inputs = resolve(step.get("inputs", {}), claimed.run_inputs, upstream)
    except ReferenceError as exc:
        raise StepFailure(f"inputs: {exc}", retryable=False) from exc
    info = lookup.usable(claimed.component)
    if info is None:
        raise StepFailure(f"component {claimed.component} is unknown or disabled", retryable=False, inputs=inputs)
    try:
        inputs = schema_validator(info, "input")(inputs)
    except fastjsonschema.JsonSchemaException as exc:
        message = f"inputs do not match {info.name}'s input schema: {exc.message}"
        raise StepFailure(message, retryable=False, inputs=inputs) from exc
    timeout = step.get("timeout") or info.timeout or settings.OAWEB_STEP_TIMEOUT
    function = get_callable(info.name, info.version, info.entrypoint, info.is_class)
    spec = CATALOG.get(info.name)
    try:
        result = call_with_timeout(function, inputs, context, timeout, wants_context=bool(spec and spec.wants_context))
        outputs, size = check_outputs(info, result)
    except StepFailure as failure:
        raise StepFailure(str(failure), failure.retryable, inputs=inputs) from failure
    return inputs, outputs, size


def outputs_of(run_id: int, step_ids) -> dict:
    """{step id: outputs} of these steps of the run."""
    rows = StepRun.objects.filter(run_id=run_id, step_id__in=list(step_ids)).values_list("step_id", "outputs")
    return dict(retrying(list, rows))


_validators: dict[tuple, object] = {}


def schema_validator(info, which: str):
    """The compiled input or output schema of a component, once per registry generation.

    A compiled fastjsonschema validator also fills in the schema's defaults.
    """
    key = (which, info.name, info.version, lookup.generation())
    validator = _validators.get(key)
    if validator is None:
        if len(_validators) > 512:
            _validators.clear()
        schema = info.input_schema if which == "input" else info.output_schema
        validator = fastjsonschema.compile(schema or {})
        _validators[key] = validator
    return validator


def call_with_timeout(function, inputs: dict, context: StepContext, timeout: float, wants_context: bool):
    """Call a component in a call thread and wait at most `timeout` seconds.

    A thread, not a signal, so it works in every pool (threads included). A
    component that ignores `context.stop` keeps its thread until it returns:
    Python can't kill a thread; the step has failed and moved on regardless.
    """
    box: dict = {}
    done = threading.Event()
    kwargs = {**inputs, "context": context} if wants_context else inputs

    def call():
        try:
            box["value"] = function(**kwargs)
        except BaseException as exc:  # reported as the step's error, never raised in the worker
            box["error"] = exc
        finally:
            connections.close_all()  # this thread's connections only
            done.set()

    call_threads.run(call)
    if not done.wait(timeout):
        context.stop.set()
        raise StepFailure(f"timed out after {timeout:g} s")
    if context.stop.is_set() and "error" in box:
        raise StepFailure("stopped: the run was cancelled", retryable=False)
    if "error" in box:
        error = box["error"]
        if isinstance(error, TypeError) and "argument" in str(error):
            raise StepFailure(f"bad inputs for the component: {error}", retryable=False)
        raise StepFailure(f"{type(error).__name__}: {error}")
    return box.get("value")


def check_outputs(info, result) -> tuple[dict, int]:
    """The outputs as the database will hold them (plain JSON), and their size in bytes of JSON."""
    if result is None:
        result = {}
    if not isinstance(result, dict):
        raise StepFailure(f"component returned {type(result).__name__}, expected an object of outputs")
    try:
        encoded = json.dumps(result)
    except (TypeError, ValueError) as exc:
        raise StepFailure(f"component returned outputs that are not JSON: {exc}") from exc
    if len(encoded) > settings.OAWEB_MAX_OUTPUT_BYTES:
        raise StepFailure(f"outputs are {len(encoded)} bytes, over the limit of {settings.OAWEB_MAX_OUTPUT_BYTES}")
    try:
        schema_validator(info, "output")(result)
    except fastjsonschema.JsonSchemaException as exc:
        raise StepFailure(f"outputs do not match the component's output schema: {exc.message}") from exc
    return json.loads(encoded), len(encoded)


# --- rate limits ---------------------------------------------------------------

RATE_UNITS = {"s": 1, "m": 60, "h": 3600}


def rate_interval(rate_limit: str) -> float | None:
    """Seconds between two calls for a Celery-style limit: "10/s", "100/m", "5/h", or "2" (per second)."""
    count, _, unit = rate_limit.strip().partition("/")
    try:
        per_unit = float(count)
    except ValueError:
        return None
    if per_unit <= 0 or (unit or "s") not in RATE_UNITS:
        return None
    return RATE_UNITS[unit or "s"] / per_unit


def rate_limit_wait(message: StepMessage) -> float:
    """Reserve this step's slot under its component's rate limit; seconds to wait for it (0: go).

    Limits hold across every worker (the slots live in the run-state store).
    A waiting step's deadline moves past its slot, so the reaper leaves it be.
    """
    info = lookup.get(message.component)
    interval = rate_interval(info.rate_limit) if info and info.rate_limit else None
    if interval is None:
        return 0.0
    wait = get_store().reserve_slot(f"rate:{message.component}", interval)
    if wait > 0:
        StepRun.objects.filter(pk=message.step_run_id, status__in=StepStatus.WAITING_FOR_WORKER).update(
            lease_expires=timezone.now() + timedelta(seconds=wait) + transitions.unclaimed_after()
        )
    return wait
