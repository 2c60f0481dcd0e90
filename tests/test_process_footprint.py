"""What each kind of process loads: `runserver` serves ASGI through daphne's app; a worker carries no Twisted.

Settings are read once per process, from its command line, so each case runs
in a fresh interpreter whose argv is the command's.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
sys.argv = ["manage.py", *sys.argv[1:]]
import django
from django.conf import settings
from django.core.management import get_commands
django.setup()
import oaweb.celery, workflows.execution.tasks  # what a worker imports to execute steps
print(json.dumps({
    "daphne_app": "daphne" in settings.INSTALLED_APPS,
    "runserver_from": get_commands()["runserver"],
    "twisted": "twisted" in sys.modules,
}))
"""


def loaded_by(command: str) -> dict:
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "oaweb.settings", "DEBUG": "true"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_runserver_is_daphnes_so_make_run_serves_the_live_pages():
    loaded = loaded_by("runserver")
    assert loaded["daphne_app"] and loaded["runserver_from"] == "daphne"


def test_a_worker_does_not_load_twisted():
    loaded = loaded_by("runworker")
    assert not loaded["daphne_app"] and not loaded["twisted"]
