"""The DAG picture's data: nodes with their component's kind, and the edges of every kind of dependency."""

import json

import pytest
from django.template.loader import render_to_string

from tests.conftest import noop_definition
from workflows.definitions.graph import build_plan
from workflows.web.graphs import dag_json, plan_graph

# The registry (components fixture) answers every component's kind.
pytestmark = pytest.mark.usefixtures("components")


def test_nodes_carry_component_kind_and_status():
    graph = json.loads(dag_json(noop_definition(steps=2), {"s1": "succeeded"}))
    assert graph["nodes"] == [
        {"id": "s1", "component": "core.noop", "kind": "transform", "status": "succeeded"},
        {"id": "s2", "component": "core.noop", "kind": "transform", "status": ""},
    ]


MIXED = {
    "steps": [
        {"id": "ask", "component": "llm.chat"},
        {"id": "wait", "component": "core.sleep", "depends_on": ["ask"]},
        {"id": "new", "component": "not.registered", "depends_on": ["wait"]},
    ]
}


def test_each_kind_comes_from_the_registry_and_an_unknown_component_has_none():
    kinds = {node["id"]: node["kind"] for node in json.loads(dag_json(MIXED))["nodes"]}
    assert kinds == {"ask": "agent", "wait": "tool", "new": ""}


def test_the_run_page_graph_has_the_same_nodes_as_the_workflow_page():
    statuses = {"ask": "succeeded", "wait": "running"}
    from_plan = plan_graph(build_plan(MIXED), statuses)
    assert from_plan == json.loads(dag_json(MIXED, statuses))
    assert from_plan["nodes"][0] == {"id": "ask", "component": "llm.chat", "kind": "agent", "status": "succeeded"}


def test_edges_come_from_depends_on_input_references_and_conditions():
    definition = {
        "steps": [
            {"id": "a", "component": "x"},
            {"id": "b", "component": "x", "depends_on": ["a"]},
            {
                "id": "c",
                "component": "x",
                "inputs": {"v": "{{ steps.b.outputs.v }}", "w": ["{{ steps.a.outputs.w.0 }}"]},
            },
            {"id": "d", "component": "x", "when": "steps.c.outputs.ok == true"},
        ]
    }
    graph = json.loads(dag_json(definition))
    assert sorted(map(tuple, graph["edges"])) == [("a", "b"), ("a", "c"), ("b", "c"), ("c", "d")]


def test_duplicate_self_and_unknown_references_make_no_edges():
    definition = {
        "steps": [
            {"id": "a", "component": "x"},
            {
                "id": "b",
                "component": "x",
                "depends_on": ["a", "ghost", "b"],
                "inputs": {"v": "{{ steps.a.outputs.v }}"},
            },
        ]
    }
    assert json.loads(dag_json(definition))["edges"] == [["a", "b"]]


def test_malformed_definitions_draw_what_they_can():
    assert json.loads(dag_json({"steps": "nope"})) == {"nodes": [], "edges": []}
    assert json.loads(dag_json([])) == {"nodes": [], "edges": []}
    graph = json.loads(dag_json({"steps": [1, {"id": 2}, {"id": "ok", "component": 3}]}))
    assert graph["nodes"] == [{"id": "ok", "component": "", "kind": "", "status": ""}]


def test_partial_embeds_the_graph_safely_for_a_script_element():
    definition = {"steps": [{"id": "</script><script>alert(1)</script>", "component": "x"}]}
    html = render_to_string("workflows/_dag.html", {"graph": dag_json(definition), "graph_id": "g1"})
    assert '<svg class="dag" data-graph="g1" role="group"' in html
    assert 'href="/static/oaweb/dag.css"' in html  # the partial brings its stylesheet
    assert '<script id="g1" type="application/json">' in html
    assert "<script>alert(1)" not in html
    assert html.count("</script>") == 1
