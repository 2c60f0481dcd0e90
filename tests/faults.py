"""Faults made on purpose for the chaos tests, and the counts that say whether the engine survived them.

* failpoints: a worker started with `failpoint_env(point, hit)` SIGKILLs
  itself at that point of the step path (workflows/execution/failpoints.py);
* `TcpProxy`: a Redis (or any TCP server) that goes away for the workers
  started behind it, while the real one keeps serving everybody else;
* `BackendTerminator`: the workers' PostgreSQL connections dropped again and
  again (`pg_terminate_backend`), as a failover or a restart does;
* `step_counts`: what the database says happened to every step of some runs.
"""

import contextlib
import queue
import re
import selectors
import socket
import struct
import threading
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit, urlunsplit

from django.db import connection, connections
from django.db.models import Count, Max, Q

from workflows.execution.models import Run, StepRun
from workflows.execution.status import AttemptStatus, RunStatus, StepStatus

# --- shapes of runs ------------------------------------------------------------------


def sleep_chain(slug: str, queue: str, length: int, seconds: float) -> dict:
    """`length` core.sleep steps of `seconds` in a chain, on `queue`."""
    steps = [_sleep_step("s0", queue, seconds)]
    steps += [_sleep_step(f"s{n}", queue, seconds, depends_on=[f"s{n - 1}"]) for n in range(1, length)]
    return {"id": slug, "steps": steps}


def sleep_fan_out(slug: str, queue: str, width: int, seconds: float) -> dict:
    """A root, `width` core.sleep steps of `seconds` after it, and a join of them all, on `queue`."""
    root = {"id": "root", "component": "core.noop", "queue": queue, "inputs": {"value": 1}}
    middle = [_sleep_step(f"m{n}", queue, seconds, depends_on=["root"]) for n in range(width)]
    join = {"id": "join", "component": "core.noop", "queue": queue, "depends_on": [step["id"] for step in middle]}
    return {"id": slug, "steps": [root, *middle, join]}


def _sleep_step(step_id: str, queue: str, seconds: float, **fields) -> dict:
    return {"id": step_id, "component": "core.sleep", "queue": queue, "inputs": {"seconds": seconds}, **fields}


# --- failpoints ---------------------------------------------------------------------


def failpoint_env(point: str, hit: int = 1) -> dict:
    """The environment that arms `point` of a worker: it kills itself the `hit`-th time it gets there."""
    return {"OAWEB_FAILPOINTS": f"{point}:{hit}"}


def wait_for_exit(worker, timeout: float) -> float | None:
    """Wait for the worker's process to end; the monotonic time it was seen gone, or None if it lives on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            return time.monotonic()
        time.sleep(0.02)
    return None


def failpoint_fired(worker, point: str) -> bool:
    """The worker printed that `point` fired (failpoints.hit prints it before the SIGKILL)."""
    # The reader thread may still be draining the pipe when the process is gone.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(f"failpoint {point} fired" in line for line in list(worker.output)):
            return True
        if worker.process.stdout.closed:
            break
        time.sleep(0.05)
    return any(f"failpoint {point} fired" in line for line in list(worker.output))


ROUTINE = re.compile(r"Task \S+\[[0-9a-f-]+\] (received|succeeded in )")


def tail(worker, lines: int = 30) -> str:
    """The last lines a worker printed but the routine ones (a task received, succeeded), and how it exited."""
    kept = [line for line in list(worker.output) if not ROUTINE.search(line)]
    code = worker.process.poll()
    return "\n".join([*kept[-lines:], f"[{worker.name}: {'running' if code is None else f'exit code {code}'}]"])


def purge_queues(*names: str) -> int:
    """Empty these broker queues (what an earlier session left on a test's own queues); how many were taken."""
    from oaweb.celery import app

    with app.connection_for_write() as broker:
        channel = broker.default_channel
        return sum(channel.queue_purge(name) or 0 for name in names)


@contextlib.contextmanager
def paused(pool, name: str):
    """Stop the pool's worker `name` for the block and start it again, as it was started, afterwards.

    For faults every process must see: the session's general worker would
    otherwise keep Redis, or run the reaper a test wants another worker to run.
    """
    options = pool.workers[name].options
    pool.stop(name)
    try:
        yield
    finally:
        pool.start(name, **options)


# --- a TCP link that can be cut ---------------------------------------------------------


class TcpProxy:
    """Forwards a free local port to `target`; `cut()` drops the link, `restore()` brings it back.

    While cut, connecting is refused (nothing listens on the port) and every
    connection that was open is reset, as when a server dies. One selector
    thread does everything, so sockets are only ever closed by the thread
    that polls them.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port: int | None = None
        self.accepted = 0
        self.reset = 0
        self.is_cut = False
        self._selector = selectors.DefaultSelector()
        self._listener: socket.socket | None = None
        self._peers: dict[socket.socket, socket.socket] = {}
        self._clients: set[socket.socket] = set()
        self._commands: queue.Queue = queue.Queue()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="tcp-proxy", daemon=True)

    def start(self) -> "TcpProxy":
        self._listen()
        self._thread.start()
        return self

    def cut(self) -> None:
        self._call(self._cut)

    def restore(self) -> None:
        self._call(self._listen)

    def close(self) -> None:
        if self._thread.is_alive():
            self._call(self._cut)
            self._stopping = True
            self._thread.join(5)
        self._selector.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # Everything below runs in the proxy's thread (but _listen the first time).

    def _call(self, command) -> None:
        done = threading.Event()
        self._commands.put((command, done))
        if not done.wait(10):
            raise RuntimeError("the proxy thread did not answer")

    def _listen(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # The same port again after a cut, whatever the old connections' TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port or 0))
        listener.listen(128)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ, data=None)
        self.is_cut = False

    def _cut(self) -> None:
        if self._listener is not None:
            self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None
        for client in list(self._clients):
            self._close_pair(client, reset=True)
        self.is_cut = True

    def _loop(self) -> None:
        while not self._stopping:
            while True:
                try:
                    command, done = self._commands.get_nowait()
                except queue.Empty:
                    break
                try:
                    command()
                finally:
                    done.set()
            for key, _ in self._selector.select(timeout=0.02):
                if key.data is None:
                    self._accept(key.fileobj)
                elif key.fileobj in self._peers:
                    self._forward(key.fileobj)

    def _accept(self, listener) -> None:
        try:
            client, _ = listener.accept()
        except BlockingIOError:
            return
        try:
            upstream = socket.create_connection(self.target, timeout=2)
        except OSError:
            client.close()
            return
        for sock in (client, upstream):
            sock.setblocking(True)
            sock.settimeout(5)  # sendall to a peer that stopped reading gives up instead of hanging
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._peers[client], self._peers[upstream] = upstream, client
        self._clients.add(client)
        self._selector.register(client, selectors.EVENT_READ, data="client")
        self._selector.register(upstream, selectors.EVENT_READ, data="upstream")
        self.accepted += 1

    def _forward(self, sock) -> None:
        try:
            data = sock.recv(65536)
            if data:
                self._peers[sock].sendall(data)
                return
        except OSError:
            pass
        self._close_pair(sock)

    def _close_pair(self, sock, reset: bool = False) -> None:
        peer = self._peers.pop(sock, None)
        if peer is not None:
            self._peers.pop(peer, None)
        for each in (sock, peer):
            if each is None:
                continue
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(each)
            if reset and each in self._clients:
                # Linger 0: close() sends RST, the client sees "connection reset".
                each.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.reset += 1
            self._clients.discard(each)
            each.close()


def through(url: str, port: int) -> str:
    """A Redis or PostgreSQL URL with a local proxy's port in place of the server's address."""
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{auth + '@' if auth else ''}127.0.0.1:{port}"))


# --- dropped database connections ----------------------------------------------------------

# Only the connections of the workers under test, which connect with this
# application_name: never the test's own, nor anybody else's.
TERMINATE_SQL = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = %s
"""


def tagged_database_url(url: str, application_name: str) -> str:
    """The workers' database URL, with the name their connections show in pg_stat_activity."""
    return f"{url}{'&' if '?' in url else '?'}application_name={application_name}"


class BackendTerminator:
    """Terminate the PostgreSQL backends of `application_name` every `interval` seconds, in a thread.

    As a database failover or restart does to its clients. Use as a context
    manager; `rounds` and `terminated` count what it did.
    """

    def __init__(self, application_name: str, interval: float = 0.5):
        self.application_name = application_name
        self.interval = interval
        self.rounds = 0
        self.terminated = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backend-terminator", daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    with connection.cursor() as cursor:
                        cursor.execute(TERMINATE_SQL, [self.application_name])
                        self.terminated += cursor.fetchone()[0]
                    self.rounds += 1
                except Exception:
                    self.errors += 1
                    connection.close()
        finally:
            connections.close_all()  # this thread's connection: the test database is dropped at the end

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


# --- what happened to the steps ----------------------------------------------------------------


@dataclass(frozen=True)
class StepCounts:
    runs: int
    runs_succeeded: int
    runs_unfinished: int
    steps: int
    steps_succeeded: int
    recorded_once: int  # steps with exactly one succeeded attempt: the invariant
    recorded_twice: int  # steps with more than one succeeded attempt: a success recorded again
    ran_again: int  # steps claimed again after their success was recorded
    extra_attempts: int  # steps that took more than one attempt (a worker died holding them)
    lost_attempts: int  # attempts recorded as lost by the reaper

    def __str__(self) -> str:
        return ", ".join(f"{name}={value}" for name, value in asdict(self).items())

    def summary(self) -> str:
        """The counts a chaos test prints: runs finished, steps, extra attempts, successes recorded twice."""
        return (
            f"runs finished {self.runs - self.runs_unfinished}/{self.runs} (succeeded {self.runs_succeeded}), "
            f"steps {self.steps}, steps with more than one attempt {self.extra_attempts} "
            f"(lost attempts {self.lost_attempts}), successes recorded twice {self.recorded_twice}"
        )


def step_counts(run_ids) -> StepCounts:
    run_ids = list(run_ids)
    runs = dict(Run.objects.filter(pk__in=run_ids).order_by().values_list("status").annotate(n=Count("id")))
    succeeded = Q(attempts__status=AttemptStatus.SUCCEEDED)
    rows = list(
        StepRun.objects.filter(run_id__in=run_ids)
        .annotate(
            successes=Count("attempts", filter=succeeded),
            lost=Count("attempts", filter=Q(attempts__status=AttemptStatus.LOST)),
            last_success=Max("attempts__number", filter=succeeded),
        )
        .values_list("status", "attempt", "successes", "lost", "last_success")
    )
    return StepCounts(
        runs=len(run_ids),
        runs_succeeded=runs.get(RunStatus.SUCCEEDED, 0),
        runs_unfinished=sum(runs.get(status, 0) for status in RunStatus.ACTIVE),
        steps=len(rows),
        steps_succeeded=sum(1 for status, *_ in rows if status == StepStatus.SUCCEEDED),
        recorded_once=sum(1 for _, _, successes, _, _ in rows if successes == 1),
        recorded_twice=sum(1 for _, _, successes, _, _ in rows if successes > 1),
        ran_again=sum(1 for _, attempt, _, _, last in rows if last is not None and attempt > last),
        extra_attempts=sum(1 for _, attempt, *_ in rows if attempt > 1),
        lost_attempts=sum(lost for _, _, _, lost, _ in rows),
    )


def assert_each_success_recorded_once(counts: StepCounts, context: str = "") -> None:
    """Every run succeeded and every step's success is recorded exactly once, never followed by another try."""
    message = f"{context}: {counts}" if context else str(counts)
    assert counts.runs_succeeded == counts.runs, f"runs that did not succeed: {message}"
    assert counts.recorded_twice == 0, f"a step's success recorded more than once: {message}"
    assert counts.ran_again == 0, f"a step ran again after its success: {message}"
    assert counts.steps_succeeded == counts.steps, f"steps that did not succeed: {message}"
    assert counts.recorded_once == counts.steps, f"steps without exactly one succeeded attempt: {message}"
