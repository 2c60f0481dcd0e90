"""The execution core's modules import each other in one direction only: no loops, hidden or not."""

import ast
from pathlib import Path

import workflows.execution
from workflows.definitions.graph import find_cycles

PACKAGE = "workflows.execution"
FOLDER = Path(workflows.execution.__file__).parent


def imports_of(path: Path) -> set[str]:
    """Modules of the package that `path` imports anywhere: at the top and inside functions alike."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == PACKAGE or node.module.startswith(PACKAGE + "."):
                # `from a.b import c` imports the module a.b.c when there is one, else a.b: both are kept,
                # and import_graph keeps only what names a module of the package.
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith(PACKAGE + "."))
    return found


def module_name(path: Path) -> str:
    """workflows.execution.runner for runner.py; a subpackage (transitions/) is named by its __init__.py."""
    parts = path.relative_to(FOLDER).with_suffix("").parts
    return ".".join([PACKAGE, *(parts[:-1] if parts[-1] == "__init__" else parts)])


def import_graph() -> dict[str, set[str]]:
    # The package's own __init__ only says what is in it; its subpackages' (transitions/) are modules of the graph.
    modules = {module_name(path): path for path in FOLDER.rglob("*.py") if path != FOLDER / "__init__.py"}
    return {name: imports_of(path) & modules.keys() for name, path in modules.items()}


def test_no_module_of_the_execution_core_imports_itself_back():
    graph = import_graph()
    assert len(graph) > 10  # the walk found the package
    assert find_cycles(graph) == []


def test_a_loop_would_be_found(tmp_path):
    graph = import_graph()
    graph[f"{PACKAGE}.transitions"].add(f"{PACKAGE}.runner")  # transitions calling back up into the runner
    assert find_cycles(graph)
