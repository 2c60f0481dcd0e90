import pytest

from registry.catalog import ComponentError
from tests.registry import builtin

DATA = {"a": {"b": [10, {"c": "deep"}]}, "x/y": {"~t": 1}, "empty": None}


def pick(path, **kwargs):
    return builtin("json.pick")(data=DATA, path=path, **kwargs)["value"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.b.0", 10),
        ("a.b.1.c", "deep"),
        ("/a/b/1/c", "deep"),
        ("/a/b/0", 10),
        ("/x~1y/~0t", 1),
        ("empty", None),
        ("", DATA),
    ],
)
def test_pick_follows_dot_paths_and_json_pointers(path, expected):
    assert pick(path) == expected


@pytest.mark.parametrize("path", ["missing", "a.b.2", "a.b.-1", "a.b.x", "a.b.0.c", "/a/c", "empty.key"])
def test_pick_returns_the_default_for_a_missing_path(path):
    assert pick(path, default="fallback") == "fallback"


def test_pick_default_may_be_null():
    assert pick("missing", default=None) is None


def test_pick_without_default_fails_naming_the_path():
    with pytest.raises(ComponentError, match=r"path 'a\.b\.5' not found: index 5 is past the end"):
        pick("a.b.5")


def test_pick_works_on_lists_and_scalars_at_the_top():
    assert builtin("json.pick")(data=[[1, 2], [3]], path="1.0") == {"value": 3}
    assert builtin("json.pick")(data="text", path="") == {"value": "text"}
