"""`when` conditions: the tiny language, its errors, and that nothing is evaluated as Python."""

import pytest

from workflows.definitions.conditions import ConditionError, evaluate_condition, parse_condition

INPUTS = {"mode": "full", "n": 5, "ratio": 0.5, "tags": ["a", "b"], "flag": True, "empty": "", "obj": {"k": 1}}
OUTPUTS = {"check": {"ok": True, "count": 0, "text": "an error happened"}, "skipped": None}


def check(text):
    return evaluate_condition(text, INPUTS, OUTPUTS)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("inputs.mode == 'full'", True),
        ('inputs.mode != "full"', False),
        ("inputs.n > 4", True),
        ("inputs.n >= 5 and inputs.n <= 5", True),
        ("inputs.n < 5", False),
        ("inputs.ratio < 1", True),
        ("inputs.n == 5.0", True),
        ("-1 < 0", True),
        ("1e3 == 1000", True),
        ("'b' in inputs.tags", True),
        ("'z' not in inputs.tags", True),
        ("'error' in steps.check.outputs.text", True),
        ("'k' in inputs.obj", True),
        ("inputs.mode in ['full', 'quick']", True),
        ("[1, 2] == [1, 2]", True),
        ("null == null", True),
        ("inputs.flag == true", True),
    ],
)
def test_comparisons(text, expected):
    assert check(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("inputs.flag", True),
        ("inputs.empty", False),
        ("steps.check.outputs.count", False),
        ("{{ steps.check.outputs.ok }}", True),
        ("{{inputs.tags}}", True),
        ("not inputs.empty", True),
    ],
)
def test_a_bare_operand_is_tested_for_truth(text, expected):
    assert check(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        # not binds tighter than and, and tighter than or.
        ("true or false and false", True),
        ("(true or false) and false", False),
        ("not false and false", False),
        ("not (false and false)", True),
        ("false or not false", True),
        ("not not true", True),
        ("false or false or true", True),
        ("true and true and false", False),
    ],
)
def test_precedence(text, expected):
    assert check(text) is expected


@pytest.mark.parametrize(
    "text",
    [
        "inputs.mode > 3",
        "inputs.n < 'x'",
        "inputs.tags >= 1",
        "null < 1",
        "true > false",
        "1 in 'abc'",
        "'a' in 5",
        "1 == true",
        "0 == false",
        "'5' == 5",
    ],
)
def test_incompatible_types_compare_false(text):
    assert check(text) is False


def test_not_equal_between_types_is_true():
    assert check("'5' != 5") is True


def test_a_missing_reference_is_null():
    assert check("inputs.nope == null") is True
    assert check("steps.skipped.outputs.x") is False
    assert check("steps.unknown.outputs.x == null") is True


def test_string_escapes():
    assert evaluate_condition(r"inputs.s == 'it\'s \"x\"\n'", {"s": 'it\'s "x"\n'}, {}) is True


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "__import__('os')",
        "inputs.mode == __builtins__",
        "open('x')",
        "inputs.mode ==",
        "(inputs.flag",
        "inputs.flag)",
        "inputs.flag inputs.mode",
        "'unterminated",
        "inputs.mode = 'x'",
        "inputs.mode == 'a' + 'b'",
        "{{ input.x }}",
        "steps.a.output.b",
        "'a\\q'",
        "1 == 1 == 1",
        "[1, 2",
        "inputs.x ; 1",
    ],
)
def test_errors(text):
    with pytest.raises(ConditionError):
        parse_condition(text)


def test_nesting_and_length_are_bounded():
    with pytest.raises(ConditionError, match="nests"):
        parse_condition("(" * 40 + "true" + ")" * 40)
    with pytest.raises(ConditionError, match="nests"):
        parse_condition("not " * 40 + "true")
    with pytest.raises(ConditionError, match="at most"):
        parse_condition("true or " * 500 + "true")


def test_a_long_flat_chain_is_fine():
    assert check(" or ".join(["false"] * 200) + " or true") is True


def test_references_are_listed():
    condition = parse_condition("{{ steps.a.outputs.b }} and inputs.x in steps.c.outputs.d.0")
    assert [ref.text for ref in condition.references] == ["steps.a.outputs.b", "inputs.x", "steps.c.outputs.d.0"]


def test_parsing_is_cached_and_the_result_shared():
    assert parse_condition("inputs.n > 1") is parse_condition("inputs.n > 1")


def test_error_messages_name_the_column():
    with pytest.raises(ConditionError, match="column 13"):
        parse_condition("inputs.n == __class__")
