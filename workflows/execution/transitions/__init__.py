"""Every status change of runs, steps and attempts, and all of their SQL.

Each transition is decided in ONE database transaction: a step's outcome,
its attempt's row, which children became ready (each child counts its
parents down in `StepRun.waiting`), the descendants a failure skips, and,
when it was the last, the run's finish (`Run.unfinished` counts down in the
same transaction, under the run row's lock). Nothing that happens after the
commit (publishing, events) can leave a run unfinished: a step that is ready
is `queued` in the database before any message exists, and the reaper
resends what nobody holds (recovery.py).

Every write is conditional on the step still being in the state the caller
saw (claim: queued or expired; outcome: running with this attempt number),
so a duplicate delivery, a late worker or a retried transaction changes
nothing. The allowed changes are the table in status.py; each statement
here names its change once, checked when this module loads.

Raw SQL where the ORM can't say it: UPDATE ... RETURNING, and PostgreSQL's
data-modifying CTEs, which make a step's success one round trip. SQLite (the
embedded mode) runs the same statements one by one in one transaction.

The package follows the order of a run's life. The checked changes live in
common.py, which every other module imports, so the check above runs
whichever module loads first:

    common.py      the checked changes, leases, SQL helpers, counting off and finishing a run
    creating.py    a run and its steps, at once or deferred
    claiming.py    a step taken for a delivery
    successes.py   outputs recorded and children readied
    failures.py    skipped, failed for good, retried
    cancelling.py  a run cancelled with its active steps
    waiting.py     a step that waits holding no worker, and taken up again to be ended
    mapping.py     a map's items written in bulk, counted off as they end, the map ended by the last
    repairs.py     recovery's queries, dead workers' steps taken back, stalled runs repaired

Callers use this package only (`transitions.claim(...)`), never a module of it.
"""

from workflows.execution.transitions.cancelling import cancel
from workflows.execution.transitions.claiming import claim, still_held
from workflows.execution.transitions.common import (
    CANCEL,
    CLAIM,
    CONTINUE,
    FAIL,
    READY,
    RETRY,
    SKIP,
    SKIP_BELOW,
    SUCCEED,
    TAKE_BACK,
    WAIT,
    lease,
    message_of,
    unclaimed_after,
)
from workflows.execution.transitions.creating import create_deferred_steps, create_run
from workflows.execution.transitions.failures import fail, retry, skip
from workflows.execution.transitions.mapping import expand
from workflows.execution.transitions.repairs import (
    expired_leases,
    mark_resent,
    postpone_check,
    repair_run,
    resend_soon,
    stalled_runs,
    take_back,
    unclaimed,
)
from workflows.execution.transitions.successes import Success, succeed, succeed_many
from workflows.execution.transitions.waiting import Child, event_outputs, wait, waiting_step

__all__ = [
    "CANCEL",
    "Child",
    "CLAIM",
    "CONTINUE",
    "FAIL",
    "READY",
    "RETRY",
    "SKIP",
    "SKIP_BELOW",
    "SUCCEED",
    "TAKE_BACK",
    "WAIT",
    "Success",
    "cancel",
    "claim",
    "create_deferred_steps",
    "create_run",
    "event_outputs",
    "expand",
    "expired_leases",
    "fail",
    "lease",
    "mark_resent",
    "message_of",
    "postpone_check",
    "repair_run",
    "resend_soon",
    "retry",
    "skip",
    "stalled_runs",
    "still_held",
    "succeed",
    "succeed_many",
    "take_back",
    "unclaimed",
    "unclaimed_after",
    "wait",
    "waiting_step",
]
