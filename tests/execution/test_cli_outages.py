"""`manage.py run_workflow` with Redis or PostgreSQL unreachable: one line on stderr, exit code 2, nothing started.

The command runs in a subprocess, as a person or a script runs it, and
reaches the service through a TcpProxy (tests/faults.py) that is cut.
"""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from tests.faults import TcpProxy, through
from tests.workers import database_url_for_workers

pytestmark = [pytest.mark.distributed, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def distributed():
    if settings.EMBEDDED:
        pytest.skip("needs Redis and PostgreSQL (distributed mode)")


def run_workflow(slug: str, **env) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oaweb.settings",
        "DATABASE_URL": database_url_for_workers(),
        "SECRET_KEY": "insecure-test-only-key",
        "OAWEB_COMPONENT_MODULES": "tests.components",
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "run_workflow", slug],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def proxy_to(url: str, default_port: int) -> TcpProxy:
    parts = urlsplit(url)
    return TcpProxy((parts.hostname, parts.port or default_port))


def test_redis_unreachable_prints_one_line_and_exits_2(transactional_db, components, make_workflow):
    workflow = make_workflow()
    with proxy_to(settings.REDIS_URL, 6379) as proxy:
        proxy.cut()
        done = run_workflow(workflow.slug, REDIS_URL=through(settings.REDIS_URL, proxy.port))

    shown = f"redis://127.0.0.1:{proxy.port}{urlsplit(settings.REDIS_URL).path}"  # never a password
    assert done.returncode == 2, done
    assert done.stderr.splitlines() == [f"oaweb: Redis at {shown} is unreachable; nothing was started"], done
    assert done.stdout == ""
    assert not workflow.runs.exists()


def test_database_unreachable_prints_one_line_and_exits_2(transactional_db, components, make_workflow):
    workflow = make_workflow()
    database_url = database_url_for_workers()
    with proxy_to(database_url, 5432) as proxy:
        proxy.cut()
        done = run_workflow(workflow.slug, DATABASE_URL=through(database_url, proxy.port))

    name = urlsplit(database_url).path.lstrip("/")
    expected = f"oaweb: the database at 127.0.0.1:{proxy.port}/{name} is unreachable; nothing was started"
    assert done.returncode == 2, done
    assert done.stderr.splitlines() == [expected], done
    assert done.stdout == ""
    assert not workflow.runs.exists()
