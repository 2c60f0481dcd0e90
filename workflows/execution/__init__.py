"""The execution core: runs, steps, their transitions and all their SQL, dispatch, recovery.

    runs.py         a run as a whole: start, re-run, cancel, wait (what services call)
    runner.py       a delivery: claim its step, run it and the children it claims, record them
    attempts.py     one attempt: inputs resolved and checked, the component called, outputs checked
    transitions/    every status change, each decided in one transaction; all the SQL
    status.py       the statuses and the table of allowed step transitions
    models.py       runs, step runs and attempts (the rows transitions move)
    idempotency.py  Idempotency-Key: a retried start returns the first run
    messages.py     the typed records passed between these modules and over the broker
    dispatch.py     publishing ready steps; which children a worker may continue with
    commits.py      group commit: a run's successes finishing together share one statement
    recovery.py     the reaper: dead workers' steps, unheld messages, stalled runs
    tasks.py        the Celery tasks: a step (a thin wrapper over runner.execute), a large run's steps
    plans.py        compiled versions (a definition's plan, parsed once per process)
    heartbeat.py    each worker's maintenance thread: leases, its registry row, the reaper
    workers.py      the worker registry (model)
    events.py       live events to Channels, buffered and coalesced
    state.py        shared hot state in Redis or memory: locks, rate-limit slots
    connections.py  database connections on the step path, retried when they drop
    failpoints.py   named points where a test makes the worker kill itself
    embedded.py     the in-process Celery worker of embedded mode
    call_threads.py the threads components run in
    step_logs.py    what a component logs, per attempt: bounded, pushed live, stored with its attempt

Imports point one way (tests/test_house.py, tests/execution/test_import_graph.py): runs and tasks
call the runner, which calls transitions and dispatch; nothing below calls
back up.
"""
