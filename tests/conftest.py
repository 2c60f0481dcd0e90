"""Personas and small factories shared by every suite.

* owner: member of `team`, which owns the workflows made by `make_workflow`
* member: another member of `team`
* outsider: member of `other_team` only
* staff: sees everything
"""

import pytest
from django.contrib.auth import get_user_model

from workflows.models import Team, Workflow

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def team(db):
    return Team.objects.create(name="alpha")


@pytest.fixture
def other_team(db):
    return Team.objects.create(name="beta")


def make_user(username, *teams, is_staff=False, is_superuser=False):
    user = get_user_model().objects.create_user(
        username, f"{username}@example.com", PASSWORD, is_staff=is_staff, is_superuser=is_superuser
    )
    for team in teams:
        team.members.add(user)
    return user


@pytest.fixture
def owner(team):
    return make_user("owner", team)


@pytest.fixture
def member(team):
    return make_user("member", team)


@pytest.fixture
def outsider(other_team):
    return make_user("outsider", other_team)


@pytest.fixture
def staff(db):
    return make_user("staff", is_staff=True, is_superuser=True)


def noop_definition(slug="hello", steps=2):
    """A small valid chain of core.noop steps."""
    definition = {
        "id": slug,
        "name": slug.title(),
        "version": "1.0.0",
        "inputs": {"greeting": {"type": "string", "default": "hi"}},
        "steps": [{"id": "s1", "component": "core.noop", "inputs": {"value": "{{ inputs.greeting }}"}}],
        "outputs": {},
    }
    for number in range(2, steps + 1):
        definition["steps"].append(
            {"id": f"s{number}", "component": "core.noop", "inputs": {"value": f"{{{{ steps.s{number - 1}.outputs.value }}}}"}}
        )
    definition["outputs"] = {"value": f"{{{{ steps.s{steps}.outputs.value }}}}"}
    return definition


@pytest.fixture
def make_workflow(team, owner):
    def make(definition=None, team_=None):
        definition = definition or noop_definition()
        version, _ = Workflow.import_definition(definition, team=team_ or team, author=owner)
        return version.workflow

    return make
