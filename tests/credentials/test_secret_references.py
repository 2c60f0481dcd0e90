"""`{{ secrets.NAME }}`: parsed, resolved only from the secrets given, and validated against a team's credentials."""

import pytest

from tests.definitions.validation_fakes import COMPONENTS, closed, codes, fake_component, issues_with, step, workflow
from workflows.definitions.references import (
    SECRETS,
    Reference,
    ReferenceError,
    find_references,
    is_whole_reference,
    parse_reference,
    resolve,
)
from workflows.definitions.validation import SecretInfo, validate

SECRETS_GIVEN = {"github": {"token": "ghp-abc"}, "db": {"username": "app", "password": "pw-1234"}}
TEAM = {
    "github": SecretInfo("bearer", frozenset({"token"})),
    "db": SecretInfo("basic", frozenset({"username", "password"})),
}
HTTP = fake_component(
    "http.request",
    inputs=closed(
        {
            "url": {"type": "string"},
            "headers": {"type": "object"},
            "credential": {"type": "object", "x-oaweb-credential": ["bearer", "header"]},
        },
        required=["url"],
    ),
)
COMPONENTS_WITH_HTTP = {**COMPONENTS, "http.request": HTTP}


def check(definition, secrets=TEAM):
    return validate(definition, components=COMPONENTS_WITH_HTTP, secrets=secrets)


def test_a_secret_reference_parses_with_an_optional_field():
    assert parse_reference("secrets.github") == Reference(SECRETS, "github", None, (), "secrets.github")
    assert parse_reference("secrets.db.password").path == ("password",)
    assert is_whole_reference("{{ secrets.github }}").source == SECRETS
    assert parse_reference("secret.github") is None


def test_resolving_fills_in_only_the_secrets_given():
    inputs = {"credential": "{{ secrets.github }}", "auth": "Bearer {{ secrets.github.token }}"}

    resolved = resolve(inputs, {}, {}, secrets=SECRETS_GIVEN)

    assert resolved == {"credential": {"token": "ghp-abc"}, "auth": "Bearer ghp-abc"}
    with pytest.raises(ReferenceError, match="no credential 'github'"):
        resolve(inputs, {}, {})  # no secrets given: the reference points at nothing


def test_a_run_input_holding_a_reference_is_not_resolved_a_second_time():
    # A webhook caller could put "{{ secrets.github.token }}" into an input: it stays text.
    resolved = resolve({"v": "{{ inputs.text }}"}, {"text": "{{ secrets.github.token }}"}, {}, secrets=SECRETS_GIVEN)

    assert resolved == {"v": "{{ secrets.github.token }}"}


def test_the_team_must_have_the_credential():
    result = check(workflow(step("a", inputs={"v": "{{ secrets.githb.token }}"})))

    [issue] = result["issues"]
    assert not result["valid"]
    assert (issue["code"], issue["path"]) == ("unknown_reference", "/steps/0/inputs/v")
    assert "no credential `githb`" in issue["message"]
    assert issue["suggestion"] == "did you mean `github`?"


def test_a_field_the_credential_type_does_not_have():
    [issue] = check(workflow(step("a", inputs={"v": "{{ secrets.db.token }}"})))["issues"]

    assert issue["code"] == "unknown_reference"
    assert "has no field `token` (fields: `password`, `username`)" in issue["message"]


def test_without_a_team_only_the_places_are_checked():
    definition = workflow(step("a", inputs={"v": "{{ secrets.anything.at_all }}"}))

    assert check(definition, secrets=None) == {"valid": True, "issues": []}


@pytest.mark.parametrize(
    "definition, path",
    [
        (workflow(step("a", when="{{ secrets.github.token }} == 'x'")), "/steps/0/when"),
        (workflow(step("a"), outputs={"leak": "{{ secrets.github.token }}"}), "/outputs/leak"),
    ],
)
def test_a_secret_outside_step_inputs_is_refused(definition, path):
    for secrets in (TEAM, None):
        result = check(definition, secrets=secrets)
        [issue] = issues_with(result, "misplaced_secret")
        assert not result["valid"] and issue["path"] == path


def test_a_component_input_takes_a_credential_of_its_types():
    good = workflow(step("a", "http.request", inputs={"url": "https://x", "credential": "{{ secrets.github }}"}))
    wrong = workflow(step("a", "http.request", inputs={"url": "https://x", "credential": "{{ secrets.db }}"}))
    literal = workflow(step("a", "http.request", inputs={"url": "https://x", "credential": {"token": "plain"}}))

    assert check(good)["valid"] and check(good)["issues"] == []
    [issue] = check(wrong)["issues"]
    assert issue["code"] == "credential_type" and issue["severity"] == "error"
    assert "`db` is a basic credential" in issue["message"] and "takes bearer or header" in issue["message"]
    assert codes(check(literal)) == ["credential_type"] and check(literal)["issues"][0]["severity"] == "warning"


def test_the_cache_keeps_teams_apart(components):  # the registry's components: validate() caches those results
    definition = workflow(step("a", inputs={"v": "{{ secrets.github.token }}"}))

    assert validate(definition, secrets=TEAM)["valid"]
    assert not validate(definition, secrets={})["valid"]  # another team, without it: not the cached answer
    assert validate(definition)["valid"]


def test_a_step_reading_secrets_reads_no_step_output():
    refs = [reference for reference, _ in find_references({"a": "{{ secrets.steps.outputs }}"})]
    assert [(ref.source, ref.name, ref.path) for ref in refs] == [(SECRETS, "steps", ("outputs",))]
