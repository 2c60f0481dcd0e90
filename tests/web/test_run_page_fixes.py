"""Issue 18's run page, server side: one read per live update, retries' back-off told from queue wait.

* item 5: a live update brings every row that differs from what the page
  shows, from the same read as its header and progress, whether or not the
  rows' own events have arrived yet;
* item 6: a step that failed twice, then succeeded after a back-off: the
  panel shows each attempt's back-off apart from its queue wait, the
  timeline draws all three attempts, and the metrics page has a queue wait
  for the component.
"""

import re
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse
from django.utils import timezone

from tests.conftest import noop_definition, run_definition
from tests.web.conftest import make_run
from tests.web.test_live_consumers import close_connections, connect, receive_all  # noqa: F401 (a fixture)
from workflows.execution import events
from workflows.execution.models import Run, StepAttempt, StepRun
from workflows.metrics import rollups
from workflows.web import live

BACKOFF = 0.6  # seconds before each retry: fixed, no jitter


def retried_definition(slug="retried"):
    return {
        "id": slug,
        "steps": [
            {
                "id": "flaky",
                "component": "core.fail",
                "inputs": {"times": 2},
                "retry": {"max_attempts": 3, "backoff": "fixed", "delay": BACKOFF, "jitter": False},
            }
        ],
    }


@pytest.fixture
def retried_run(workers, team):
    run = run_definition(retried_definition(), team=team)
    assert run.status == "succeeded"
    assert run.steps.get().attempt == 3
    return run


def seconds_of(text: str) -> float:
    """`8 ms`, `1.2 s` (the duration filter) in seconds."""
    number, unit = re.fullmatch(r"([\d.]+) (µs|ms|s)", text.strip()).groups()
    return float(number) * {"µs": 1e-6, "ms": 1e-3, "s": 1.0}[unit]


def cells(html: str, column: str) -> dict[int, str]:
    """{attempt number: text of its cell in `column`} of the step panel's attempts table."""
    found = {}
    for number, body in re.findall(r'<tbody data-attempt="(\d+)">(.*?)</tbody>', html, re.S):
        match = re.search(rf'data-col="{column}">(.*?)</td>', body, re.S)
        found[int(number)] = match.group(1).strip() if match else None
    return found


# --- item 6: retries ------------------------------------------------------------------


def test_the_panel_shows_back_off_apart_from_queue_wait(owner_client, retried_run):
    html = owner_client.get(
        reverse("step-detail", args=[retried_run.pk, "flaky"]), HTTP_HX_REQUEST="true"
    ).content.decode()
    backoff, wait = cells(html, "backoff"), cells(html, "queue-wait")
    assert sorted(backoff) == [1, 2, 3], html
    assert backoff[1] == "–"  # a first attempt waits for no back-off
    for number in (2, 3):
        assert backoff[number] == f"{BACKOFF * 1000:.0f} ms"
        # The queue wait starts when the back-off ends: less than the back-off, which it used to include.
        assert seconds_of(wait[number]) < BACKOFF, (number, wait[number])
    assert "planned failure (attempt 2 of 2 planned failures)" in html


def test_the_timeline_draws_every_attempt(owner_client, retried_run):
    page = owner_client.get(reverse("run-detail", args=[retried_run.pk])).content.decode()
    timeline = page[page.index('id="run-timeline"') :]
    row = timeline[timeline.index('data-step="flaky"') :]
    row = row[: row.index("</div>")]
    runs = re.findall(r'class="tl-exec st-(\w+)" data-attempt="(\d)"', row)
    assert runs == [("failed", "1"), ("failed", "2"), ("succeeded", "3")], row
    assert re.findall(r'class="tl-backoff" data-attempt="(\d)"', row) == ["2", "3"]


def test_attempts_are_timed_from_their_rows_and_the_step():
    """Back-off and queue wait of each attempt, while the step waits, runs again, or was cancelled."""
    t0 = timezone.now()

    def at(seconds):
        return t0 + timedelta(seconds=seconds)

    rows = [
        StepAttempt(number=1, status="failed", started=at(1), finished=at(2), delay=0),
        StepAttempt(number=2, status="failed", started=at(5.1), finished=at(6), delay=3),
    ]
    # Retrying: its `enqueued` is when attempt 3 is due.
    step = StepRun(step_id="x", status="retrying", attempt=2, enqueued=at(10), started=at(5.1))
    attempts = live.attempts_of(step, rows, now=at(8))
    assert [a.number for a in attempts] == [1, 2, 3]
    assert attempts[0].queue_wait is None  # attempt 1's due time was overwritten by the retries
    assert (attempts[1].backoff, attempts[1].queue_wait, attempts[1].ran_for) == (3, pytest.approx(0.1), 0.9)
    assert attempts[2].backoff == 4 and attempts[2].started is None
    spans = [
        (kind, (start - t0).total_seconds(), (end - t0).total_seconds())
        for kind, start, end in live._spans(attempts[2], at(8))
    ]
    assert spans == [("backoff", 6, 8)]  # still in its back-off: no queue wait yet

    # Running attempt 3 (no row yet): the step's fields.
    step = StepRun(step_id="x", status="running", attempt=3, enqueued=at(10), started=at(10.5), worker="w")
    third = live.attempts_of(step, rows, now=at(11))[-1]
    assert (third.number, third.backoff, third.queue_wait, third.finished) == (3, 4, 0.5, None)

    # Taken back from a lost worker: queued again at once, no back-off.
    lost = [*rows, StepAttempt(number=3, status="lost", started=at(10.5), finished=at(40), delay=4)]
    step = StepRun(step_id="x", status="queued", attempt=3, enqueued=at(40), started=at(10.5))
    waiting = live.attempts_of(step, lost, now=at(41))[-1]
    assert (waiting.number, waiting.backoff, waiting.ready) == (4, 0, at(40))

    # Cancelled in its back-off: the wait ends with the cancel; nothing ran.
    step = StepRun(step_id="x", status="cancelled", attempt=2, enqueued=at(10), started=at(5.1), finished=at(7))
    cancelled = live.attempts_of(step, rows, now=at(50))[-1]
    assert (cancelled.number, cancelled.started, cancelled.until) == (3, None, at(7))


def test_the_metrics_page_has_a_queue_wait_for_a_component_that_always_retries(owner_client, workers, team):
    for _ in range(3):  # nine attempts, none of them a first attempt that succeeded
        assert run_definition(retried_definition("retried-metrics"), team=team).status == "succeeded"
    rollups.add_pending()
    html = owner_client.get(reverse("metrics-page")).content.decode()
    row = html[html.index('<tr data-component="core.fail">') :]
    row = row[: row.index("</tr>")]
    assert re.search(r'data-col="attempts">9<', row), row
    wait = re.search(r'data-col="wait-p95">(.*?)</td>', row).group(1)
    assert seconds_of(wait) < BACKOFF, wait  # a number, and not the back-off


def test_the_step_row_shows_no_queue_wait_while_it_waits_for_a_retry(owner_client, make_workflow):
    run = make_run(make_workflow(noop_definition(steps=1)), {"s1": "running"})
    now = timezone.now()
    StepRun.objects.filter(run=run).update(
        status="retrying", attempt=1, started=now - timedelta(seconds=2), enqueued=now + timedelta(seconds=5)
    )
    page = owner_client.get(reverse("run-detail", args=[run.pk])).content.decode()
    row = page[page.index('<tr id="step-s1"') :]
    row = row[: row.index("</tr>")]
    assert re.findall(r'<td class="num">(.*?)</td>', row) == ["1", "–", "–"]  # attempt, queue wait, ran for


# --- item 5: one read, every part -------------------------------------------------------


def test_a_flush_sends_every_row_that_differs_from_what_the_page_shows(make_workflow):
    run = make_run(make_workflow(noop_definition(steps=3)), {"s1": "running"})
    shown = {}
    live.run_update_messages(run.pk, all_steps=True, shown=shown)  # the page's catch-up
    assert shown["s1"][0] == "running" and shown["s3"][0] == "pending"

    # The run finished; the flush comes from the run's event, before the steps' own events.
    now = timezone.now()
    StepRun.objects.filter(run=run).update(status="succeeded", started=now, finished=now)
    Run.objects.filter(pk=run.pk).update(status="succeeded", finished=now)
    rows, rest = live.run_update_messages(run.pk, step_ids=set(), shown=shown)
    assert rows.startswith("<tr") and all(f'id="step-s{n}"' in rows for n in (1, 2, 3))
    assert rows.count("st-succeeded") == 3
    assert "st-succeeded" in rest[: rest.index('id="run-progress"')]  # the header
    assert "<strong data-finished>3</strong> of 3" in rest
    statuses = rest[rest.index('id="dag-update"') :].replace("&quot;", '"')
    assert all(f'"s{n}": "succeeded"' in statuses for n in (1, 2, 3))

    # Nothing changed since: nothing to send but the header and progress.
    assert len(live.run_update_messages(run.pk, step_ids=set(), shown=shown)) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("close_connections")
async def test_the_run_event_alone_brings_the_rows_the_header_speaks_of(owner, make_workflow):
    """The header said succeeded while the last row still said pending, until that step's event came."""
    run = await sync_to_async(lambda: make_run(make_workflow(noop_definition(steps=3)), {"s1": "running"}))()
    communicator = await connect(f"/ws/runs/{run.pk}/", owner)
    assert (await communicator.connect())[0]
    await receive_all(communicator, 0.5)  # catch-up

    def finish():
        now = timezone.now()
        StepRun.objects.filter(run=run).update(status="succeeded", started=now, finished=now)
        Run.objects.filter(pk=run.pk).update(status="succeeded", finished=now)
        events.run_changed(Run.objects.get(pk=run.pk))  # the steps' events are yet to come

    await sync_to_async(finish)()
    update = "".join(await receive_all(communicator, 1.0))
    assert 'id="run-head"' in update
    assert all(f'id="step-s{n}"' in update for n in (1, 2, 3)), update
    await communicator.disconnect()
