"""The house's rules, checked on the source: arrows point one way, rooms stay small, HTTP stays in its rooms.

* No import loop among oaweb's modules, counting imports inside functions
  (which hide loops rather than remove them); each such import says why.
* The registry knows nothing of `workflows`.
* No module over 500 lines; no function over 60 unless a comment above it says why.
* `Http404` only in views (workflows/web/, workflows/api/).
"""

import ast
from pathlib import Path

from workflows.definitions.graph import find_cycles

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("oaweb", "registry", "workflows")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
VIEW_PACKAGES = ("workflows.web", "workflows.api")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }


MODULES = project_modules()


def imported_module(node: ast.ImportFrom, alias: ast.alias) -> str | None:
    """The project module an import names: `from a.b import c` is a.b.c when that is a module, else a.b."""
    for candidate in (f"{node.module}.{alias.name}", node.module):
        while candidate:
            if candidate in MODULES:
                return candidate
            candidate = candidate.rpartition(".")[0]
    return None


def imports(path: Path):
    """(imported module, line, at top level) for each import of a project module in `path`."""
    tree = ast.parse(path.read_text())
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = {imported_module(node, alias) for alias in node.names}
        elif isinstance(node, ast.Import):
            targets = {name for alias in node.names if (name := alias.name) in MODULES}
        else:
            continue
        for target in targets - {None}:
            yield target, node.lineno, id(node) in top_level


def import_graph() -> dict[str, set[str]]:
    return {name: {target for target, _, _ in imports(path)} - {name} for name, path in MODULES.items()}


def test_the_walk_finds_the_house():
    assert {"workflows.models", "workflows.execution.runner", "registry.lookup", "oaweb.settings"} <= MODULES.keys()


def test_no_import_loop_anywhere():
    assert find_cycles(import_graph()) == []


def test_a_loop_would_be_found():
    graph = import_graph()
    graph["registry.lookup"].add("workflows.execution.runs")  # the registry calling up into the engine
    assert find_cycles(graph)


def test_every_import_inside_a_function_says_why():
    unexplained = []
    for name, path in MODULES.items():
        lines = path.read_text().splitlines()
        for target, line, top_level in imports(path):
            if not top_level and not says_why(lines, line):
                unexplained.append(f"{name}:{line} imports {target}")
    assert unexplained == []


def says_why(lines: list[str], line: int) -> bool:
    """A comment on the import's line, or above the block of imports it belongs to."""
    if "#" in lines[line - 1]:
        return True
    above = line - 2
    while above >= 0 and lines[above].strip().startswith(("from ", "import ")):
        above -= 1
    return above >= 0 and lines[above].strip().startswith("#")


def test_the_registry_knows_nothing_of_workflows():
    reaching_up = [
        f"{name} imports {target}"
        for name, path in MODULES.items()
        if name.startswith("registry.")
        for target, _, _ in imports(path)
        if target.startswith("workflows")
    ]
    assert reaching_up == []


def test_no_module_is_over_500_lines():
    long = {name: lines for name, path in MODULES.items() if (lines := len(path.read_text().splitlines())) > 500}
    assert long == {}


def test_no_function_is_over_60_lines_unless_it_says_why():
    long = []
    for name, path in MODULES.items():
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES and not lines[first - 2].strip().startswith("#"):
                    long.append(f"{name}.{node.name}: {length} lines")
    assert long == []


def test_http404_only_in_views():
    outside = [
        name for name, path in MODULES.items() if "Http404" in path.read_text() and not name.startswith(VIEW_PACKAGES)
    ]
    assert outside == []
