"""The step graph: parents, run order, cycles, descendants."""

import pytest

from workflows.definitions.graph import CycleError, build_plan, descendants, find_cycle, find_cycles, step_parents


def make(step_id, **fields):
    return {"id": step_id, "component": "core.noop", **fields}


def test_parents_come_from_depends_on_inputs_and_when():
    step = make(
        "d",
        depends_on=["a"],
        inputs={"x": ["{{ steps.b.outputs.y }}"], "z": "{{ inputs.q }}"},
        when="steps.c.outputs.ok and {{ inputs.flag }}",
    )
    assert step_parents(step) == {"a", "b", "c"}


def test_parents_tolerate_malformed_parts():
    assert step_parents(make("a", depends_on="b", inputs=[1], when="((")) == set()


def test_plan_orders_steps_after_their_parents():
    definition = {
        "steps": [
            make("join", depends_on=["left", "right"]),
            make("left", inputs={"v": "{{ steps.root.outputs.x }}"}),
            make("right", depends_on=["root"]),
            make("root"),
            make("alone"),
        ]
    }
    plan = build_plan(definition)
    assert plan.order.index("root") < plan.order.index("left") < plan.order.index("join")
    assert plan.order.index("right") < plan.order.index("join")
    assert set(plan.order) == set(plan.steps)
    assert plan.roots == ("root", "alone")
    assert plan.parents["join"] == frozenset({"left", "right"})
    assert plan.children["root"] == ("left", "right")
    assert plan.children["join"] == ()


def test_plan_raises_on_a_cycle_naming_its_steps():
    definition = {"steps": [make("a", depends_on=["c"]), make("b", depends_on=["a"]), make("c", depends_on=["b"])]}
    with pytest.raises(CycleError) as caught:
        build_plan(definition)
    assert sorted(caught.value.cycle) == ["a", "b", "c"]
    assert "a" in str(caught.value)


def test_find_cycle_lists_the_cycle_in_run_order():
    # a feeds b, b feeds c, c feeds a.
    parents = {"a": {"c"}, "b": {"a"}, "c": {"b"}, "d": {"a"}}
    cycle = find_cycle(parents)
    start = cycle.index("a")
    assert cycle[start:] + cycle[:start] == ["a", "b", "c"]


def test_find_cycle_sees_a_step_depending_on_itself():
    assert find_cycle({"a": {"a"}, "b": set()}) == ["a"]


def test_find_cycle_is_none_for_a_dag():
    assert find_cycle({"a": set(), "b": {"a"}, "c": {"a", "b"}}) is None


def test_find_cycles_reports_each_separate_cycle():
    parents = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}, "e": {"a", "c"}}
    cycles = find_cycles(parents)
    assert sorted(sorted(cycle) for cycle in cycles) == [["a", "b"], ["c", "d"]]


def test_edges_to_unknown_steps_are_ignored():
    assert find_cycle({"a": {"ghost"}}) is None


def test_a_long_chain_needs_no_recursion():
    size = 50_000
    parents = {f"s{i}": ({f"s{i - 1}"} if i else set()) for i in range(size)}
    assert find_cycle(parents) is None
    parents["s0"] = {f"s{size - 1}"}
    assert len(find_cycle(parents)) == size


def test_descendants_are_everything_downstream():
    definition = {
        "steps": [
            make("a"),
            make("b", depends_on=["a"]),
            make("c", depends_on=["b"]),
            make("d"),
            make("e", depends_on=["d", "b"]),
        ]
    }
    plan = build_plan(definition)
    assert descendants(plan, "a") == {"b", "c", "e"}
    assert descendants(plan, "c") == set()
