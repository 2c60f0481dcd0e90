"""Team ownership: who sees which workflows and runs."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from tests.conftest import make_user, noop_definition
from workflows.execution.models import Run
from workflows.models import Team, TeamChoiceError, Workflow
from workflows.web.access import get_run_for, get_workflow_for


@pytest.fixture
def workflow(make_workflow):
    return make_workflow(noop_definition("ours"))


@pytest.fixture
def run(workflow):
    return Run.objects.create(workflow=workflow, version=workflow.latest_version())


@pytest.fixture
def other_run(make_workflow, other_team):
    theirs = make_workflow(noop_definition("theirs"), team_=other_team)
    return Run.objects.create(workflow=theirs, version=theirs.latest_version())


@pytest.mark.parametrize("persona", ["owner", "member"])
def test_team_members_see_their_teams_workflow(request, workflow, persona):
    user = request.getfixturevalue(persona)
    assert list(Workflow.objects.visible_to(user)) == [workflow]


def test_outsider_does_not_see_another_teams_workflow(workflow, outsider):
    assert not Workflow.objects.visible_to(outsider).exists()


def test_staff_see_every_workflow(workflow, other_run, staff):
    assert set(Workflow.objects.visible_to(staff)) == {workflow, other_run.workflow}


def test_staff_who_are_not_superusers_see_every_workflow_too(workflow, other_run):
    plain_staff = make_user("plainstaff", is_staff=True)
    assert Workflow.objects.visible_to(plain_staff).count() == 2


def test_anonymous_and_inactive_users_see_nothing(workflow, run, member):
    member.is_active = False
    member.save()
    for user in (AnonymousUser(), member):
        assert not Workflow.objects.visible_to(user).exists()
        assert not Run.objects.visible_to(user).exists()


def test_a_member_of_two_teams_sees_both_without_duplicates(workflow, other_run, owner, other_team):
    other_team.members.add(owner)
    assert sorted(Workflow.objects.visible_to(owner).values_list("slug", flat=True)) == ["ours", "theirs"]


@pytest.mark.parametrize("persona", ["owner", "member"])
def test_team_members_see_their_teams_runs(request, run, other_run, persona):
    user = request.getfixturevalue(persona)
    assert list(Run.objects.visible_to(user)) == [run]


def test_outsider_sees_only_their_own_teams_runs(run, other_run, outsider):
    assert list(Run.objects.visible_to(outsider)) == [other_run]


def test_staff_see_every_run(run, other_run, staff):
    assert set(Run.objects.visible_to(staff)) == {run, other_run}


def test_get_workflow_for_returns_the_workflow_to_a_member(workflow, member):
    assert get_workflow_for(member, "ours") == workflow


def test_get_workflow_for_raises_404_for_an_outsider(workflow, outsider):
    with pytest.raises(Http404):
        get_workflow_for(outsider, "ours")


def test_get_workflow_for_raises_404_for_a_missing_workflow(member):
    with pytest.raises(Http404):
        get_workflow_for(member, "nothing-here")


def test_get_run_for_returns_the_run_to_a_member(run, member):
    assert get_run_for(member, run.pk) == run


def test_get_run_for_raises_404_for_an_outsider(run, outsider):
    with pytest.raises(Http404):
        get_run_for(outsider, run.pk)


def test_get_run_for_raises_404_for_anonymous(run):
    with pytest.raises(Http404):
        get_run_for(AnonymousUser(), run.pk)


def test_get_run_for_raises_404_for_an_id_that_is_not_a_number(run, member):
    with pytest.raises(Http404):
        get_run_for(member, "1; drop table")


def test_a_new_workflow_goes_to_the_users_only_team(owner, team):
    assert Team.for_new_workflow(owner) == team


def test_a_named_team_must_be_one_of_the_users(owner, team, other_team):
    assert Team.for_new_workflow(owner, team.name) == team
    with pytest.raises(TeamChoiceError, match="not in a team named"):
        Team.for_new_workflow(owner, other_team.name)


def test_with_several_teams_or_none_the_team_must_be_named(team, other_team):
    both = make_user("both", team, other_team)
    with pytest.raises(TeamChoiceError, match="none or several"):
        Team.for_new_workflow(both)
    assert Team.for_new_workflow(both, other_team.name) == other_team
    with pytest.raises(TeamChoiceError, match="none or several"):
        Team.for_new_workflow(make_user("nobody"))


def test_staff_without_a_team_get_the_default_one_and_may_name_any(staff, other_team):
    assert not staff.teams.exists()
    assert Team.for_new_workflow(staff) == Team.default()
    assert Team.for_new_workflow(staff, other_team.name) == other_team
