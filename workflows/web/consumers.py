"""WebSocket consumers: one run's page, and the dashboard.

Both authenticate with the session (AuthMiddlewareStack in oaweb/asgi.py)
and refuse (close code 4403) anyone who may not see what they ask for. An
event only marks what changed; a flush at most every MIN_INTERVAL renders
the latest state from the database into the page's own partials, so a
client gets a few small updates a second, never a backlog.
"""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from workflows.execution.events import (
    DASHBOARD_GROUP,
    Event,
    RunEvent,
    StepEvent,
    StepLogEvent,
    StepsEvent,
    run_group,
)
from workflows.execution.items import spec_step_id
from workflows.execution.models import Run
from workflows.models import Workflow
from workflows.web import live, log_lines

REFUSED = 4403
RUN_MIN_INTERVAL = 0.1  # at most ten updates a second per page
TIMELINE_MIN_INTERVAL = 1.0  # the Gantt chart is the heaviest part: once a second
DASHBOARD_MIN_INTERVAL = 0.2  # as live as the run page, to the eye
DASHBOARD_REFRESH = 5.0  # workers and "last hour" move even without events
CATCH_UP_MARGIN = timedelta(seconds=1)  # clocks of web and worker machines differ a little


class CoalescingConsumer(AsyncWebsocketConsumer):
    """Marks changes as events arrive; one flush task sends them, spaced by min_interval."""

    min_interval = RUN_MIN_INTERVAL

    async def start_flushing(self):
        self._last_flush = 0.0
        self._flusher = None
        self._dirty = False

    def schedule_flush(self):
        # An event during a flush may have come after that flush read the
        # database: it marks the page dirty, and the flusher goes round again.
        self._dirty = True
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon())

    async def _flush_soon(self):
        while self._dirty:
            wait = self._last_flush + self.min_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._dirty = False
            self._last_flush = time.monotonic()
            await self.flush()

    async def flush(self):
        raise NotImplementedError

    async def disconnect(self, code):
        flusher = getattr(self, "_flusher", None)
        if flusher is not None:
            flusher.cancel()


class RunConsumer(CoalescingConsumer):
    async def connect(self):
        self.run_id = self.scope["url_route"]["kwargs"]["run_id"]
        if not await _may_see_run(self.scope["user"], self.run_id):
            await self.close(code=REFUSED)
            return
        await self.channel_layer.group_add(run_group(self.run_id), self.channel_name)
        await self.accept()
        await self.start_flushing()
        self.changed_steps: set[str] = set()
        self.all_steps = False
        self._last_timeline = 0.0
        # What this page shows of each step: every flush sends the rows that differ from its own read,
        # so the header, the progress, the rows and the graph never disagree (live.run_update_messages).
        self.shown: dict[str, tuple] = {}
        # Catch up with whatever changed since the page was rendered (or since
        # a dropped socket's page was): the database is the truth.
        self.whole_table = _query(self.scope, "steps") == "all"
        since = _since(self.scope)
        messages = await database_sync_to_async(live.run_update_messages)(
            self.run_id, since=since, all_steps=since is None, whole_table=self.whole_table, shown=self.shown
        )
        await self.send_all(messages)

    async def disconnect(self, code):
        await super().disconnect(code)
        await self.channel_layer.group_discard(run_group(self.run_id), self.channel_name)

    async def oaweb_event(self, message):
        event = Event.from_message(message["event"])
        if isinstance(event, StepLogEvent):  # step logs: already batched by the worker, sent as they come
            await self.send(text_data=log_lines.live_html(event))
            return
        if isinstance(event, StepEvent):
            # A map's item ("M[3]") is no row nor node of the page: it changes its map's counts. A thousand
            # items ending in a second so mark one step, and the next flush reads the counts once.
            self.changed_steps.add(spec_step_id(event.step))
        elif isinstance(event, StepsEvent):
            self.all_steps = True
        self.schedule_flush()  # a run event, or one this code doesn't know: the flush re-reads the run

    async def flush(self):
        steps, everything = self.changed_steps, self.all_steps
        self.changed_steps, self.all_steps = set(), False
        now = time.monotonic()
        with_timeline = now - self._last_timeline >= TIMELINE_MIN_INTERVAL
        if with_timeline:
            self._last_timeline = now
        else:
            self.schedule_timeline()
        messages = await database_sync_to_async(live.run_update_messages)(
            self.run_id,
            step_ids=steps,
            all_steps=everything,
            with_timeline=with_timeline,
            whole_table=self.whole_table,
            shown=self.shown,
        )
        await self.send_all(messages)

    async def send_all(self, messages):
        for text in messages:
            await self.send(text_data=text)

    def schedule_timeline(self):
        """The timeline skipped in this flush is drawn by a later one, even if no event comes."""
        if getattr(self, "_timeline_timer", None) is None or self._timeline_timer.done():
            self._timeline_timer = asyncio.create_task(self._timeline_later())

    async def _timeline_later(self):
        await asyncio.sleep(TIMELINE_MIN_INTERVAL)
        self.schedule_flush()


class DashboardConsumer(CoalescingConsumer):
    min_interval = DASHBOARD_MIN_INTERVAL

    async def connect(self):
        user = self.scope["user"]
        if not user.is_authenticated:
            await self.close(code=REFUSED)
            return
        self.user = user
        self.visible_workflows: dict[int, bool] = {}
        await self.channel_layer.group_add(DASHBOARD_GROUP, self.channel_name)
        await self.accept()
        await self.start_flushing()
        self._ticker = asyncio.create_task(self._tick())
        await self.flush()  # catch up after a reconnect

    async def disconnect(self, code):
        await super().disconnect(code)
        ticker = getattr(self, "_ticker", None)
        if ticker is not None:
            ticker.cancel()
        await self.channel_layer.group_discard(DASHBOARD_GROUP, self.channel_name)

    async def oaweb_event(self, message):
        event = Event.from_message(message["event"])
        if not isinstance(event, RunEvent):
            return  # step events move nothing the dashboard shows
        workflow = event.workflow
        if workflow not in self.visible_workflows:
            self.visible_workflows[workflow] = await _may_see_workflow(self.user, workflow)
        if self.visible_workflows[workflow]:
            self.schedule_flush()

    async def _tick(self):
        while True:
            await asyncio.sleep(DASHBOARD_REFRESH)
            self.schedule_flush()

    async def flush(self):
        html = await database_sync_to_async(live.dashboard_update_html)(self.user)
        await self.send(text_data=html)


def _query(scope, name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode()).get(name)
    return values[0] if values else None


def _since(scope) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(_query(scope, "since")), tz=UTC) - CATCH_UP_MARGIN
    except (TypeError, ValueError, OverflowError, OSError):
        return None


@database_sync_to_async
def _may_see_run(user, run_id) -> bool:
    return Run.objects.visible_to(user).filter(pk=run_id).exists()


@database_sync_to_async
def _may_see_workflow(user, workflow_id) -> bool:
    return Workflow.objects.visible_to(user).filter(pk=workflow_id).exists()
