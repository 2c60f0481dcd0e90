"""cycle: steps that wait for each other, named in the message."""

from tests.definitions.validation_fakes import COMPONENTS, codes, issues_with, step, workflow
from workflows.definitions.validation import validate


def check(definition):
    return validate(definition, components=COMPONENTS)


def test_a_cycle_names_its_steps_and_points_at_one():
    definition = workflow(
        step("start"),
        step("a", depends_on=["c"]),
        step("b", inputs={"v": "{{ steps.a.outputs.x }}"}),
        step("c", when="steps.b.outputs.ok"),
    )
    [issue] = check(definition)["issues"]
    assert issue["code"] == "cycle"
    assert issue["message"] == "steps form a cycle: a → b → c → a"
    assert issue["path"] == "/steps/1"


def test_a_step_that_depends_on_itself():
    [issue] = check(workflow(step("a", depends_on=["a"])))["issues"]
    assert (issue["code"], issue["path"]) == ("cycle", "/steps/0")
    assert "itself" in issue["message"]
    [issue] = check(workflow(step("b", inputs={"v": "{{ steps.b.outputs.x }}"})))["issues"]
    assert issue["code"] == "cycle"


def test_each_separate_cycle_is_reported():
    definition = workflow(
        step("a", depends_on=["b"]),
        step("b", depends_on=["a"]),
        step("c", depends_on=["d"]),
        step("d", depends_on=["c"]),
    )
    messages = [issue["message"] for issue in issues_with(check(definition), "cycle")]
    assert messages == ["steps form a cycle: a → b → a", "steps form a cycle: c → d → c"]


def test_steps_out_of_order_without_a_cycle_are_fine():
    definition = workflow(
        step("join", depends_on=["left", "right"]),
        step("left", depends_on=["root"]),
        step("right", inputs={"v": "{{ steps.root.outputs.x }}"}),
        step("root"),
    )
    assert check(definition)["valid"] is True


def test_a_long_cycle_is_found_without_recursion():
    size = 5_000
    steps = [step(f"s{i}", depends_on=[f"s{i + 1}"]) for i in range(size - 1)]
    steps.append(step(f"s{size - 1}", depends_on=["s0"]))
    [issue] = check(workflow(*steps))["issues"]
    assert issue["code"] == "cycle"
    assert issue["message"].count("→") == size


def test_duplicate_ids_do_not_invent_cycles():
    definition = workflow(step("a"), step("b", depends_on=["a"]), step("a", depends_on=["b"]))
    assert codes(check(definition)) == ["duplicate_step_id"]
