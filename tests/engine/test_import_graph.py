"""The execution core's modules import each other in one direction only: no loops, hidden or not."""

import ast
from pathlib import Path

import workflows.execution
from workflows.graph import find_cycles

PACKAGE = "workflows.execution"
FOLDER = Path(workflows.execution.__file__).parent


def imports_of(path: Path) -> set[str]:
    """Modules of the package that `path` imports anywhere: at the top and inside functions alike."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == PACKAGE:
                found.update(f"{PACKAGE}.{alias.name}" for alias in node.names)
            elif node.module.startswith(PACKAGE + "."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith(PACKAGE + "."))
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {f"{PACKAGE}.{path.stem}": path for path in FOLDER.glob("*.py") if path.stem != "__init__"}
    return {name: imports_of(path) & modules.keys() for name, path in modules.items()}


def test_no_module_of_the_execution_core_imports_itself_back():
    graph = import_graph()
    assert len(graph) > 10  # the walk found the package
    assert find_cycles(graph) == []


def test_a_loop_would_be_found(tmp_path):
    graph = import_graph()
    graph[f"{PACKAGE}.transitions"].add(f"{PACKAGE}.runner")  # transitions calling back up into the runner
    assert find_cycles(graph)
