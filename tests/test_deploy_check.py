"""`manage.py check --deploy` is silent with the production environment the README documents.

The environment is read from the README itself (its `export NAME=value`
lines under "In production behind HTTPS"), so the documentation and this
test can't drift apart. Each check runs in a fresh process: settings are
read from the environment once, at start-up.
"""

import re
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADING = "### In production behind HTTPS"
EXPORT = re.compile(r"^export (\w+)=(\S*)", re.MULTILINE)
# What `check --deploy` said before these settings could be set from the environment.
SECURITY_WARNINGS = ("security.W004", "security.W008", "security.W012", "security.W016")


def documented_environment() -> dict[str, str]:
    """The variables the README's production block exports, with a fresh long SECRET_KEY for its placeholder."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(HEADING) :]
    block = section[section.index("```sh") : section.index("```\n", section.index("```sh") + 5)]
    env = dict(EXPORT.findall(block))
    assert "SECRET_KEY" in env, "the production block should say how to set SECRET_KEY"
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    return env


def check_deploy(env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    """`manage.py check --deploy` with only `env` (no DATABASE_URL, REDIS_URL... from the caller's)."""
    base = {"PATH": "/usr/bin:/bin", "OAWEB_VAR_DIR": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_documented_production_environment_passes_check_deploy(tmp_path):
    result = check_deploy(documented_environment(), tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_those_settings_check_deploy_names_each_one(tmp_path):
    """The check above is not silent by accident: leave the HTTPS settings out and it warns."""
    env = {"SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "oaweb.example.com"}
    result = check_deploy(env, tmp_path)

    assert result.returncode != 0
    for warning in SECURITY_WARNINGS:
        assert warning in result.stderr


def test_a_bad_value_stops_start_up_naming_it(tmp_path):
    env = {**documented_environment(), "SECURE_HSTS_SECONDS": "a-year"}
    result = check_deploy(env, tmp_path)

    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS='a-year'" in result.stderr
