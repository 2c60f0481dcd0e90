"""Executing steps: the delivered one, then the children this worker claims as they become ready.

Called by the Celery task (tasks.py) with one step's message. The runner
claims it, prepares its inputs and calls its component in a call thread
(attempts.py). When steps succeed, their successes are recorded together
in one transaction, which also claims for this worker the children that
became ready and that it may run (dispatch.continuable), as many as it has
slots for; those start here at once: no broker hop, no second claim. The
other ready children are published. A chain thus runs in one thread; the
siblings of a fan-out run side by side in call threads, and finish in
shared commits (commits.py groups the successes of a run that finish
together in this process, from any thread).

A call thread whose call returns starts the delivery's next held step
itself, in the slot it just freed, when that step needs nothing from the
database to start (its inputs at hand): no thread is woken for it, and a
slot never waits for the delivery's thread to come round. The delivery's
thread records the returned call meanwhile.

A budget bounds the carrying on (OAWEB_CONTINUE_STEPS, _SECONDS), so that
priorities and other runs still get their turn: past it, ready children
are published instead.
"""

import heapq
import itertools
import os
import socket
import threading
import time
from dataclasses import dataclass, replace
from queue import Empty, SimpleQueue

from django.conf import settings
from django.utils import timezone

from registry import lookup
from registry.context import StepContext
from workflows.credentials.resolution import names_read
from workflows.definitions.retry import RetryPolicy, retry_delay
from workflows.definitions.spec import StepSpec
from workflows.execution import commits, dispatch, events, failpoints, pace, step_logs, subworkflows, transitions
from workflows.execution.attempts import SKIPPED, Call, Expansion, StepFailure, WaitingStep, prepare
from workflows.execution.connections import retrying
from workflows.execution.heartbeat import running_steps
from workflows.execution.items import spec_step_id
from workflows.execution.messages import Advance, ClaimedStep, StepMessage, StepState
from workflows.execution.plans import Compiled, compiled
from workflows.execution.status import StepStatus
from workflows.execution.transitions import Success
from workflows.execution.wait_specs import RUN, WAITING_COMPONENTS
from workflows.execution.workers import identity

# A child that reads only outputs of steps that just succeeded gets them in
# its task message when they are this small, as a Celery chain passes a
# result: one query less for it. Larger outputs stay out of the broker.
HANDOFF_MAX_BYTES = 8 * 1024


@dataclass
class Budget:
    """How much more this delivery may carry on with ready children before publishing them."""

    steps: int
    until: float

    @classmethod
    def fresh(cls) -> "Budget":
        return cls(settings.OAWEB_CONTINUE_STEPS, time.monotonic() + settings.OAWEB_CONTINUE_SECONDS)

    def left(self) -> int:
        return self.steps if time.monotonic() < self.until else 0


def worker_name() -> str:
    # Computed each time, not cached: a prefork child has its own pid.
    return f"{socket.gethostname()}:{os.getpid()}"


def execute(message: StepMessage, task_id: str = "") -> None:
    """Run the message's step if this delivery wins the claim, then what it carries on with."""
    claim = retrying(transitions.claim, message.step_run_id, worker_name(), task_id, message.delay)
    if claim is None:
        return  # a duplicate delivery, a cancelled run or a finished step
    claimed, started_run = claim
    if started_run is not None:
        events.run_changed(started_run)
    Local(task_id).run([(claimed, message.upstream)])


class Local:
    """The steps one delivery runs in this process: started, awaited, recorded in batches."""

    def __init__(self, task_id: str):
        self.task_id = task_id
        self.budget = Budget.fresh()
        self.todo = Held()
        self.calls: dict[int, Call] = {}  # step run id -> its call, while it runs
        self.finished: SimpleQueue[int] = SimpleQueue()  # step run ids whose call returned
        self.held: dict[int, tuple[StepContext, float]] = {}  # claimed, waiting for a slot: (context, since)
        # todo, calls and held are shared with the call threads that start held steps (hand_over);
        # never held across a query or a wait.
        self.lock = threading.Lock()

    def run(self, claimed_steps) -> None:
        for claimed, upstream in claimed_steps:
            self.todo.push(claimed, upstream)
        # A slot freed by another delivery's step wakes this one if it holds steps waiting for a slot.
        running_steps.listen(self.wake)
        try:
            while self.todo or self.calls:
                self.start_held()
                if self.calls:
                    self.collect()
        finally:  # held steps not started (an error escaped): their leases run out, the reaper re-queues them
            running_steps.unlisten(self.wake)
            running_steps.release(claimed.step_run_id for claimed, _ in self.todo)

    def wake(self) -> None:
        if self.todo:
            self.finished.put(WAKE)

    def may_start(self) -> bool:
        """The delivery's own slot always; more calls at once only while the process has slots free."""
        return not self.calls or free_slots() > 0

    def begin(self, claimed: ClaimedStep, upstream: dict | None) -> None:
        with self.lock:
            context, since = self.held.pop(claimed.step_run_id, (None, 0.0))
        if context is not None:
            running_steps.release([claimed.step_run_id])  # running from here on (or skipped, failed)
            if time.monotonic() - since >= RECHECK_HELD_SECONDS:
                self.recheck_backlog([(claimed, context)])
            if context.stop.is_set():
                return  # cancelled or taken over while it waited in the backlog
            claimed = replace(claimed, started=timezone.now())  # its attempt ran from here, not from the claim
        context = context or StepContext(run_id=claimed.run_id, step_id=claimed.step_id, attempt=claimed.attempt)
        events.step_changed(StepState.of_claimed(claimed, StepStatus.RUNNING))
        failpoints.hit("step.claimed")
        version = compiled(claimed.version_id, claimed.version_hash)
        step = version.step(claimed.step_id)
        try:
            call = prepare(claimed, step, version, upstream, context)
        except StepFailure as failure:
            self.after(record_failure(claimed, version, step, failure))
            return
        if isinstance(call, Expansion):
            self.expand(claimed, version, step, call.items)
            return
        if call is SKIPPED:
            self.after(retrying(transitions.skip, claimed, version.plan))
            return
        if isinstance(call, WaitingStep):  # it waits holding no worker: this thread moves on
            try:
                child = subworkflows.child_for(claimed, step, call.inputs) if call.wait.kind == RUN else None
            except StepFailure as failure:
                self.after(record_failure(claimed, version, step, failure))
                return
            advance = retrying(transitions.wait, claimed, call.inputs, call.wait, child)
            advance, taken = self.take_up(advance)
            self.after(advance)
            self.keep(taken, None)
            if advance.delivered is not None:  # its event had come already: it ends as though it came now
                self.succeed([(Success(claimed, call.inputs, advance.delivered), 0)], version)
            return
        running_steps.add(claimed.step_run_id, claimed.attempt, context)
        with self.lock:
            self.calls[claimed.step_run_id] = call
        call.start(on_done=self.returned)

    def recheck_backlog(self, starting) -> None:
        """Ask the database, in one query, whether the steps held past RECHECK_HELD_SECONDS (and `starting`, the
        (claimed, context) pairs about to start) are still this delivery's: those that are not are stopped, the
        others count as checked now, so that they start without a query, in the delivery's thread or a call's."""
        now = time.monotonic()
        with self.lock:
            long_held = [
                (claimed, self.held[claimed.step_run_id][0])
                for claimed, _ in self.todo
                if claimed.step_run_id in self.held and now - self.held[claimed.step_run_id][1] >= RECHECK_HELD_SECONDS
            ]
        checked = [*starting, *long_held]
        ours = retrying(transitions.still_held, [claimed for claimed, _ in checked])
        with self.lock:
            for claimed, context in checked:
                if claimed.step_run_id not in ours:
                    context.stop.set()  # cancelled or taken over meanwhile
                elif claimed.step_run_id in self.held:
                    self.held[claimed.step_run_id] = (context, now)

    def returned(self, call: Call):
        """In the call thread, as the call returns: the next held step as this thread's next job, if it can start here.

        Then the delivery's thread is told, to record the call (and to wait for the new one's deadline too).
        """
        ended = call.claimed.step_run_id
        with self.lock:
            job = self.hand_over(ended)
        if job is None:
            running_steps.remove(ended)  # a slot is free: this delivery's thread or another one's fills it
        self.finished.put(ended)
        return job

    def hand_over(self, ended: int):
        """The first held step, started in the ended step's slot if it starts without a query (under the lock)."""
        if not self.todo or ended not in self.calls:
            return None  # nothing held, or the call timed out: its slot was given up then
        claimed, upstream = self.todo.first()
        context, since = self.held.get(claimed.step_run_id, (None, 0.0))
        if context is None or context.stop.is_set() or time.monotonic() - since >= RECHECK_HELD_SECONDS:
            return None  # the delivery's thread starts it (recheck_backlog asks the database)
        version = compiled(claimed.version_id, claimed.version_hash)
        step = version.step(claimed.step_id)
        if not starts_without_queries(claimed, step, version, upstream):
            return None
        claimed = replace(claimed, started=timezone.now())
        try:
            call = prepare(claimed, step, version, upstream, context)
        except StepFailure:
            return None  # the delivery's thread prepares it again and records the failure
        if not isinstance(call, Call):
            return None  # skipped, waiting or a map: transitions the delivery's thread writes
        self.todo.pop()
        del self.held[claimed.step_run_id]
        running_steps.hand_over(ended, claimed.step_run_id, claimed.attempt, context)
        self.calls[claimed.step_run_id] = call
        events.step_changed(StepState.of_claimed(claimed, StepStatus.RUNNING))
        failpoints.hit("step.claimed")
        return call.job(on_done=self.returned)

    def collect(self) -> None:
        """Wait for a call to return (or the nearest deadline), then record every call that is over."""
        with self.lock:
            deadline = min(call.deadline for call in self.calls.values())
        wait = max(0.0, deadline - time.monotonic())
        over = set()
        try:
            over.add(self.finished.get(timeout=wait))
        except Empty:
            pass
        while True:  # whatever else returned meanwhile joins the same commit
            try:
                over.add(self.finished.get_nowait())
            except Empty:
                break
        over.discard(WAKE)
        now = time.monotonic()
        with self.lock:
            over.update(pk for pk, call in self.calls.items() if call.deadline <= now)
            calls = [(pk, self.calls.pop(pk, None)) for pk in over]
        successes, version = [], None
        for pk, call in calls:
            if call is None:
                continue  # a call that timed out earlier came back: already recorded as failed
            running_steps.remove(pk)  # a timed-out call's slot (a returned one gave its slot up already)
            step = (call.claimed.version_hash, spec_step_id(call.claimed.step_id))
            pace.observe(call.claimed.component, now - (call.deadline - call.timeout), step)
            version = compiled(call.claimed.version_id, call.claimed.version_hash)
            log = step_logs.close(call.context)  # "" unless the component logged
            try:
                outputs, size = call.outputs()
            except StepFailure as failure:
                self.after(record_failure(call.claimed, version, call.step, failure, log))
                continue
            successes.append((Success(call.claimed, call.inputs, outputs, log), size))
        self.start_held()
        if successes:
            self.succeed(successes, version)

    def start_held(self) -> None:
        """Start held steps in the slots that just freed, before the commit: their calls run while it is written."""
        while True:
            with self.lock:
                if not (self.todo and self.may_start()):
                    return
                claimed, upstream = self.todo.pop()
            self.begin(claimed, upstream)

    def succeed(self, successes, version: Compiled) -> None:
        go_on_with = self.go_on_with(version, [success.claimed.step_id for success, _ in successes], len(successes))
        records = [success for success, _ in successes]
        advance = commits.groups.record(records, version, go_on_with, self.task_id)
        for record in records:  # steps logging and cancelled meanwhile: their lines join the cancel's attempt rows
            if record.log and record.claimed.step_run_id not in advance.recorded_ids:
                step_logs.store_unrecorded(record.claimed.step_run_id, record.claimed.attempt, record.log)
        outputs = {success.claimed.step_id: success.outputs for success in records}
        size = sum(size for _, size in successes)
        if size <= HANDOFF_MAX_BYTES:
            advance = with_handoffs(advance, version, outputs)
        self.after(advance)
        if advance.continued:
            self.budget.steps -= len(advance.continued)
            self.keep(advance.continued, outputs)
            failpoints.hit("step.continuing")

    def expand(self, claimed: ClaimedStep, version: Compiled, step, items: list) -> None:
        """A map step: its items written, the first ones kept for this delivery; an empty list succeeds at once."""
        if not items:
            self.succeed([(Success(claimed, None, {"results": [], "errors": []}), 0)], version)
            return
        go = self.items_to_keep(claimed, len(items))
        advance = retrying(transitions.expand, claimed, step, items, go, self.task_id)
        self.after(advance)
        if advance.continued:
            self.budget.steps -= len(advance.continued)
            self.keep(advance.continued, None)

    def items_to_keep(self, claimed: ClaimedStep, count: int) -> int:
        """How many of a map's first items this delivery claims, as go_on_with does for a step's children."""
        budget = self.budget.left()
        if budget <= 0 or not dispatch.may_continue(claimed.component, claimed.queue):
            return 0
        slots = min(max(1, free_slots()), budget, count)
        components = itertools.repeat(claimed.component, count - slots)
        return slots + pace.backlog(components, identity.get("concurrency") or 1, budget - slots)

    def take_up(self, advance: Advance) -> tuple[Advance, list[ClaimedStep]]:
        """A child run's first steps, claimed for this delivery (the slot its waiting parent let go): no broker hop.

        As many as the process has slots for; the others are published.
        """
        room = min(max(1, free_slots()), self.budget.left())
        taken, left = [], []
        for message in advance.ready:
            claim = None
            if len(taken) < room and dispatch.may_continue(message.component, message.queue):
                claim = retrying(transitions.claim, message.step_run_id, worker_name(), self.task_id)
            if claim is None:
                left.append(message)
                continue
            claimed, started_run = claim
            taken.append(claimed)
            if started_run is not None:
                events.run_changed(started_run)
        self.budget.steps -= len(taken)
        return replace(advance, ready=tuple(left)), taken

    def keep(self, claimed_steps, upstream: dict | None) -> None:
        """Hold steps claimed for this delivery until a slot frees: the heartbeat renews their leases meanwhile."""
        for claimed in claimed_steps:
            context = StepContext(run_id=claimed.run_id, step_id=claimed.step_id, attempt=claimed.attempt)
            running_steps.hold(claimed.step_run_id, claimed.attempt, context)
            rank = pace.ranks(compiled(claimed.version_id, claimed.version_hash))[spec_step_id(claimed.step_id)]
            with self.lock:
                self.held[claimed.step_run_id] = (context, time.monotonic())
                self.todo.push(claimed, upstream, rank)

    def go_on_with(self, version: Compiled, step_ids, freed: int) -> tuple[str, ...]:
        """The children to claim for this worker if they become ready.

        As many as it has slots for: at least the slots the finished steps
        freed; in a threads pool, every slot of the process no step holds
        (deliveries then wait for a slot: tasks.py). Then a backlog of short
        ones it runs as slots free up (pace.py). A prefork child runs one step
        at a time.
        """
        budget = self.budget.left()
        if budget <= 0:
            return ()
        ranks = pace.ranks(version)
        # The longest chains first: those claimed here start first (and the others are published).
        children = sorted(dispatch.continuable(version, step_ids), key=lambda child: -ranks[child])
        slots = min(max(freed, free_slots()), budget, len(children))
        components = (version.spec.steps[child].component for child in children[slots:])
        kept = pace.backlog(components, identity.get("concurrency") or 1, budget - slots)
        return children[: slots + kept]

    def after(self, advance: Advance) -> None:
        dispatch.after_commit(advance, from_step=True)


class Held:
    """A delivery's claimed steps waiting for a slot: the highest rank (pace.ranks) first, then the oldest."""

    def __init__(self):
        self._heap: list = []
        self._order = itertools.count()

    def push(self, claimed: ClaimedStep, upstream: dict | None, rank: float = 0.0) -> None:
        heapq.heappush(self._heap, (-rank, next(self._order), claimed, upstream))

    def first(self) -> tuple[ClaimedStep, dict | None]:
        return self._heap[0][2:]

    def pop(self) -> tuple[ClaimedStep, dict | None]:
        return heapq.heappop(self._heap)[2:]

    def __bool__(self) -> bool:
        return bool(self._heap)

    def __iter__(self):
        return (entry[2:] for entry in list(self._heap))


# Put on a delivery's queue of finished calls when a slot freed elsewhere in the process.
WAKE = -1

# A held step that waited longer than this is checked against the database before
# it starts: the heartbeat (every few seconds) may not have seen its run cancelled yet.
RECHECK_HELD_SECONDS = 0.2


def starts_without_queries(claimed: ClaimedStep, step: StepSpec, version: Compiled, upstream: dict | None) -> bool:
    """Whether the step is a plain call that its preparation reads nothing for from the database: no map, no
    condition and no wait (transitions the delivery's thread writes), its inputs at hand, no credential."""
    if step.when or (step.map and claimed.item is None) or claimed.component in WAITING_COMPONENTS:
        return False
    reads = version.reads_of(claimed.step_id, is_item=claimed.item is not None)
    if reads and (upstream is None or not reads <= upstream.keys()):
        return False
    return not names_read(claimed.version_id, claimed.version_hash, step)


def free_slots() -> int:
    """Steps this process may start now besides those it runs (0 outside a threads pool)."""
    if identity.get("pool") not in THREAD_POOLS:
        return 0
    return max(0, (identity.get("concurrency") or 1) - running_steps.count())


THREAD_POOLS = ("threads", "thread")


def with_handoffs(advance: Advance, version: Compiled, outputs: dict) -> Advance:
    """The ready children that read only these outputs get them in their messages."""
    if not advance.ready:
        return advance
    reads = version.reads
    ready = tuple(
        message.with_upstream({step_id: outputs[step_id] for step_id in reads[message.step_id]})
        if reads.get(message.step_id) and reads[message.step_id] <= outputs.keys()  # none for a map's item
        else message
        for message in advance.ready
    )
    return replace(advance, ready=ready)


def record_failure(
    claimed: ClaimedStep, version: Compiled, step: StepSpec, failure: StepFailure, log: str = ""
) -> Advance:
    info = lookup.get(claimed.component)
    policy = RetryPolicy.from_config(step.retry, info.retry if info else None)
    if failure.retryable and claimed.attempt < policy.max_attempts:
        wait = retry_delay(policy, claimed.attempt)
        advance = retrying(transitions.retry, claimed, failure.inputs, str(failure), wait, log)
    else:
        advance = retrying(transitions.fail, claimed, version.plan, failure.inputs, str(failure), log)
    if log and not advance.recorded:  # cancelled or taken back meanwhile: the lines join that attempt row
        step_logs.store_unrecorded(claimed.step_run_id, claimed.attempt, log)
    return advance
