import pytest

from registry.catalog import ComponentError
from tests.registry import builtin


def render(template, **values):
    return builtin("text.template")(template=template, values=values)["text"]


def test_template_fills_names():
    assert render("Hello {name}, you are {age}.", name="Ada", age=36) == "Hello Ada, you are 36."


def test_template_writes_non_strings_as_json():
    assert render("{flag} {nothing} {items} {obj}", flag=True, nothing=None, items=[1, "a"], obj={"k": 1}) == (
        'true null [1, "a"] {"k": 1}'
    )


def test_template_doubled_braces_are_literal():
    assert render("{{name}} is {name}; {{{name}}}", name="x") == "{name} is x; {x}"


def test_template_without_placeholders_needs_no_values():
    assert builtin("text.template")(template="plain text") == {"text": "plain text"}


def test_template_repeats_a_name():
    assert render("{a}{a}{a}", a="-") == "---"


@pytest.mark.parametrize(
    "placeholder",
    ["{a.__class__}", "{a[0]}", "{a.__class__.__mro__}", "{a!r}", "{a:>10}", "{}", "{0}", "{ a }"],
)
def test_template_refuses_anything_but_a_plain_name(placeholder):
    with pytest.raises(ComponentError, match="is not allowed") as caught:
        render(f"x {placeholder} y", a="secret")

    assert placeholder in str(caught.value)


def test_template_names_a_missing_value():
    with pytest.raises(ComponentError, match=r"no value for \{city\}"):
        render("Hello {name} from {city}", name="Ada")


@pytest.mark.parametrize("template", ["open { only", "close } only", "{unclosed", "a}b{c"])
def test_template_refuses_unmatched_braces(template):
    with pytest.raises(ComponentError, match="unmatched"):
        render(template)


def test_template_refuses_values_that_are_not_an_object():
    with pytest.raises(ComponentError, match="values must be an object"):
        builtin("text.template")(template="{a}", values=["a"])
