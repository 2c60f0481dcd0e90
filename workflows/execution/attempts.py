"""One attempt of a step, without the engine's bookkeeping: inputs, the call, its outputs, rate limits.

`prepare` resolves and checks a claimed step's inputs (or says it is
skipped); `Call` runs the component in a call thread under the step's
timeout; `Call.outputs` checks what it returned. Every failure is a
StepFailure that says whether another attempt could help.
"""

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

import fastjsonschema
from django.conf import settings
from django.db import connections
from django.utils import timezone

from registry import lookup
from registry.catalog import CATALOG, get_callable
from registry.context import StepContext
from workflows.credentials import resolution as credentials  # issue 20: `{{ secrets.NAME }}`
from workflows.definitions import strict_json
from workflows.definitions.conditions import ConditionError, evaluate_condition
from workflows.definitions.format import json_type
from workflows.definitions.references import ReferenceError, TooLarge, resolve
from workflows.definitions.spec import StepSpec
from workflows.execution import call_threads, step_logs, transitions
from workflows.execution.connections import retrying
from workflows.execution.messages import ClaimedStep, StepMessage
from workflows.execution.models import StepRun
from workflows.execution.plans import Compiled
from workflows.execution.state import get_store
from workflows.execution.status import StepStatus
from workflows.execution.wait_specs import WAITING_COMPONENTS, BadWait, Wait, wait_of
from workflows.redaction import redact

log = logging.getLogger(__name__)


class StepFailure(Exception):
    """A step's attempt failed; `retryable` is False when trying again can't help."""

    def __init__(self, message: str, retryable: bool = True, inputs: dict | None = None):
        # The message becomes the step's recorded error, which people read and paste:
        # no URL credentials or tokens in it (the inputs keep them, for a retry).
        super().__init__(redact(message))
        self.retryable = retryable
        self.inputs = inputs


SKIPPED = object()


@dataclass(frozen=True)
class Expansion:
    """What prepare returns for a map step: the items it runs over (execution/mapping.py creates them)."""

    items: list


@dataclass(frozen=True)
class WaitingStep:
    """What prepare returns for a waiting component's step: its resolved inputs and its wait."""

    inputs: dict
    wait: Wait


@dataclass
class Call:
    """A component called in a call thread for one claimed step."""

    claimed: ClaimedStep
    step: StepSpec
    info: object  # registry.lookup.ComponentInfo
    inputs: dict
    context: StepContext
    deadline: float  # time.monotonic()
    timeout: float
    box: dict = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)
    # Issue 20: the credentials the step reads. Only the call gets their values (secrets.inputs);
    # `inputs`, which is recorded and shown, has `•••` in their place (credentials/resolution.py).
    secrets: credentials.Secrets | None = None

    def start(self, on_done=None) -> None:
        """Call the component in a call thread; `on_done(self)` from that thread when it returns."""
        call_threads.run(self.job(on_done))

    def job(self, on_done=None):
        """The call as a call thread's job. It returns what `on_done(self)` returns: the thread's next job, if any."""
        spec = CATALOG.get(self.info.name)
        function = get_callable(self.info.name, self.info.version, self.info.entrypoint, self.info.is_class)
        inputs = self.inputs if self.secrets is None else self.secrets.inputs
        kwargs = {**inputs, "context": self.context} if spec and spec.wants_context else inputs

        def call():
            step_logs.attach(self.context)  # its logging goes to this attempt's log
            try:
                self.box["value"] = function(**kwargs)
            except BaseException as exc:  # reported as the step's error, never raised in the worker
                self.box["error"] = exc
            finally:
                step_logs.detach()
                connections.close_all()  # this thread's connections only
                self.done.set()
            if on_done is not None:
                return on_done(self)
            return None

        return call

    def outputs(self) -> tuple[dict, int]:
        """The checked outputs and their size once the call returned (or its time ran out); raises StepFailure."""
        if not self.done.is_set():
            self.context.stop.set()
            raise StepFailure(f"timed out after {self.timeout:g} s", inputs=self.inputs)
        try:
            value = returned(self.box, self.context)
            return check_outputs(self.info, value if self.secrets is None else self.secrets.hide(value))
        except StepFailure as failure:
            raise StepFailure(str(failure), failure.retryable, inputs=self.inputs) from failure


def prepare(claimed: ClaimedStep, step: StepSpec, version: Compiled, upstream: dict | None, context: StepContext):
    """A Call ready to start, SKIPPED when `when` is false, a WaitingStep, or a map's Expansion. Raises StepFailure.

    Nothing else escapes: an unexpected error fails the attempt with its
    reason instead of leaving the step to its lease.
    """
    try:
        return _prepare(claimed, step, version, upstream, context)
    except StepFailure:
        raise
    except Exception as exc:
        log.exception("step %s of run %s: unexpected error", claimed.step_id, claimed.run_id)
        raise StepFailure(f"internal error: {type(exc).__name__}: {exc}", retryable=False) from exc


def _prepare(claimed: ClaimedStep, step: StepSpec, version: Compiled, upstream: dict | None, context: StepContext):
    item = claimed.item
    reads = version.reads_of(claimed.step_id, is_item=item is not None)
    if upstream is None or not reads <= upstream.keys():
        upstream = outputs_of(claimed.run_id, reads) if reads else {}
    if step.when and item is None:  # a map's `when` decided for all its items
        try:
            if not evaluate_condition(step.when, claimed.run_inputs, upstream):
                return SKIPPED
        except (ConditionError, ReferenceError) as exc:
            raise StepFailure(f"when: {exc}", retryable=False) from exc
    if step.map and item is None:  # the map step itself: its items are created, not called here
        return Expansion(map_items(step, claimed.run_inputs, upstream))
    limit = settings.OAWEB_MAX_INPUT_BYTES
    try:
        secrets = credentials.for_step(claimed, step)  # issue 20: None (no query) unless it reads a credential
        shown = None if secrets is None else secrets.shown
        # Bounded: "{{ inputs.a }}" written 200 times must fail here, not after building 200 copies.
        inputs = resolve(step.inputs, claimed.run_inputs, upstream, max_size=limit, secrets=shown, item=item)
    except TooLarge as exc:
        message = f"inputs would exceed {limit} bytes once references are filled in (OAWEB_MAX_INPUT_BYTES)"
        raise StepFailure(message, retryable=False) from exc
    except ReferenceError as exc:
        raise StepFailure(f"inputs: {exc}", retryable=False) from exc
    info = lookup.usable(claimed.component)
    if info is None:
        raise StepFailure(f"component {claimed.component} is unknown or disabled", retryable=False, inputs=inputs)
    try:
        inputs = schema_validator(info, "input")(inputs)
        if secrets is not None:  # issue 20: the values, for the call alone
            secrets = secrets.filled(
                step.inputs, claimed.run_inputs, upstream, schema_validator(info, "input"), item=item
            )
    except fastjsonschema.JsonSchemaException as exc:
        message = f"inputs do not match {info.name}'s input schema: {exc.message}"
        raise StepFailure(message, retryable=False, inputs=inputs) from exc
    if info.name in WAITING_COMPONENTS:  # recorded as waiting, not called (waits.py)
        try:
            return WaitingStep(inputs, wait_of(info.name, inputs, timezone.now(), step))
        except BadWait as exc:
            raise StepFailure(str(exc), retryable=False, inputs=inputs) from exc
    timeout = step.timeout or info.timeout or settings.OAWEB_STEP_TIMEOUT
    return Call(claimed, step, info, inputs, context, time.monotonic() + timeout, timeout, secrets=secrets)


def map_items(step: StepSpec, run_inputs: dict, upstream: dict) -> list:
    """The list a map step runs over (its `map` reference resolved); StepFailure if it is not one."""
    try:
        items = resolve(step.map, run_inputs, upstream)
    except ReferenceError as exc:
        raise StepFailure(f"map: {exc}", retryable=False) from exc
    if not isinstance(items, list):
        raise StepFailure(f"map: {step.map} is {article_of(items)}, not a list", retryable=False)
    limit = settings.OAWEB_MAX_MAP_ITEMS
    if len(items) > limit:
        raise StepFailure(f"map: {len(items)} items, over the limit of {limit} (OAWEB_MAX_MAP_ITEMS)", retryable=False)
    return items


def article_of(value) -> str:
    kind = json_type(value)
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def returned(box: dict, context: StepContext):
    """What the component returned, or the StepFailure its error means."""
    if context.stop.is_set() and "error" in box:
        raise StepFailure("stopped: the run was cancelled", retryable=False)
    if "error" in box:
        error = box["error"]
        if isinstance(error, TypeError) and "argument" in str(error):
            raise StepFailure(f"bad inputs for the component: {error}", retryable=False)
        raise StepFailure(f"{type(error).__name__}: {error}")
    return box.get("value")


def call_with_timeout(function, inputs: dict, context: StepContext, timeout: float, wants_context: bool):
    """Call `function` in a call thread and wait at most `timeout` seconds (what a Call does, for one function).

    A thread, not a signal, so it works in every pool (threads included). A
    component that ignores `context.stop` keeps its thread until it returns:
    Python can't kill a thread; the step has failed and moved on regardless.
    """
    box: dict = {}
    done = threading.Event()
    kwargs = {**inputs, "context": context} if wants_context else inputs

    def call():
        step_logs.attach(context)
        try:
            box["value"] = function(**kwargs)
        except BaseException as exc:
            box["error"] = exc
        finally:
            step_logs.detach()
            connections.close_all()
            done.set()

    call_threads.run(call)
    if not done.wait(timeout):
        context.stop.set()
        raise StepFailure(f"timed out after {timeout:g} s")
    return returned(box, context)


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
        # NaN, a lone surrogate or NUL (from a web page, say) would fail the step's commit, not the step.
        strict_json.check_value(result)
    except strict_json.Refused as refused:
        raise StepFailure(f"component returned outputs that can't be stored: {refused}") from None
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
