"""The engine's house: its import graph, read from the source, points one way.

Every import counts, at module level and inside functions alike (a lazy import hides a loop; it does not remove it).
The layers, from the bottom: ``errors`` and ``account``; ``policy``; ``aws`` (the only code that imports moto);
``gatehouse``; ``credentials``; ``served`` (the served home) and ``local`` (the local home); then the front door
``sandbox`` and everything that sits on top (checks, classroom, views). Only the served home knows that an account
can be served: no module elsewhere asks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

GRADER = Path(__file__).resolve().parents[1] / "grader"

# Each layer may import itself and the layers listed for it, never one above.
LAYERS = {
    "errors": set(),
    "account": {"errors"},
    "policy": {"errors"},
    "aws": {"errors", "account", "policy"},
    "gatehouse": {"errors", "account", "policy", "aws"},
    "credentials": {"errors", "account", "policy", "aws", "gatehouse"},
    "served": {"errors", "account", "policy", "aws", "gatehouse", "credentials"},
    "local": {"errors", "account", "policy", "aws", "gatehouse", "credentials"},
}
TOP = {"sandbox", "checks", "selfcheck", "classroom", "views", "__init__"}


def _modules() -> dict:
    modules = {}
    for path in GRADER.rglob("*.py"):
        parts = ["grader", *path.relative_to(GRADER).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _imports(name: str, path: Path) -> list:
    """(imported name, line) for every import in the module, wherever it stands in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((module, node.lineno))
            found += [(f"{module}.{alias.name}", node.lineno) for alias in node.names]
    return found


def _project_module(imported: str):
    while imported and imported not in MODULES:
        imported = imported.rpartition(".")[0]
    return imported or None


def _graph() -> dict:
    graph = {}
    for name, path in MODULES.items():
        edges = set()
        for imported, _ in _imports(name, path):
            if imported.startswith("grader"):
                target = _project_module(imported)
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_the_graph_is_read_from_every_module_of_the_engine():
    graph = _graph()
    assert {"grader.account", "grader.aws.sandbox", "grader.gatehouse.rule", "grader.served.client"} <= set(graph)
    # imports inside functions count: the front door asks for the local home inside start()
    assert "grader.local" in graph["grader.sandbox"]


def test_no_module_imports_itself_back_through_others():
    graph = _graph()
    state: dict = {}
    cycles = []

    def visit(node: str, trail: list) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            # a submodule's import runs its package's __init__ first; that is Python's order, not a dependency
            if node.startswith(nxt + "."):
                continue
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(trail[trail.index(nxt):] + [nxt]) if nxt in trail else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import loops:\n" + "\n".join(cycles)


def test_each_layer_imports_only_the_layers_beneath_it():
    wrong = []
    for module, edges in _graph().items():
        layer = _layer(module)
        if layer in TOP:
            continue
        allowed = LAYERS[layer] | {layer}
        for target in edges:
            if _layer(target) not in allowed and target != "grader":
                wrong.append(f"{module} imports {target}")
    assert not wrong, "imports that point upwards:\n" + "\n".join(sorted(wrong))


def test_only_the_aws_layer_imports_moto():
    outside = [f"{name}:{line} imports {imported}"
               for name, path in MODULES.items() if not name.startswith("grader.aws")
               for imported, line in _imports(name, path) if imported.split(".")[0] == "moto"]
    assert not outside, "\n".join(outside)


SERVED_SWITCH = re.compile(r"""getattr\([^)]*["']served["']|(?<!grader)\.served\b|GATED_COMMUNITY_ACCOUNT""")


def test_only_the_served_home_knows_that_an_account_can_be_served():
    asking = []
    for name, path in MODULES.items():
        if name.startswith("grader.served"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if SERVED_SWITCH.search(code) and "``" not in code:
                asking.append(f"{name}:{number}: {line.strip()}")
    assert not asking, "served-mode switches outside grader/served/:\n" + "\n".join(asking)
    importers = {name for name, edges in _graph().items() if any(t.startswith("grader.served") for t in edges)}
    # the front door chooses the home; the grader's worker serves the account; nothing else needs to know
    assert importers - {"grader.served", "grader.served.client", "grader.served.server", "grader.served.wire"} <= \
        {"grader.sandbox", "grader.classroom.judge", "grader.classroom.isolation", "grader.classroom.autograde"}


@pytest.mark.parametrize("planted, complaint", [
    ("from grader import sandbox\n", "imports that point upwards"),
    ("def f():\n    import moto\n", "imports moto"),
])
def test_the_rules_catch_what_they_are_for(tmp_path, monkeypatch, planted, complaint):
    """A policy module that reached up to the sandbox, or imported moto in a function, is named."""
    path = tmp_path / "planted.py"
    path.write_text(planted)
    monkeypatch.setitem(MODULES, "grader.policy.planted", path)
    with pytest.raises(AssertionError, match=complaint):
        test_each_layer_imports_only_the_layers_beneath_it()
        test_only_the_aws_layer_imports_moto()


def test_a_planted_loop_is_named(tmp_path, monkeypatch):
    first, second = tmp_path / "first.py", tmp_path / "second.py"
    first.write_text("def f():\n    from grader.aws import second\n")
    second.write_text("from grader.aws import first\n")
    monkeypatch.setitem(MODULES, "grader.aws.first", first)
    monkeypatch.setitem(MODULES, "grader.aws.second", second)
    with pytest.raises(AssertionError, match="grader.aws.first -> grader.aws.second -> grader.aws.first"):
        test_no_module_imports_itself_back_through_others()


def test_a_planted_served_switch_is_named(tmp_path, monkeypatch):
    path = tmp_path / "switch.py"
    path.write_text("def f(box):\n    return getattr(box, 'served', False)\n")
    monkeypatch.setitem(MODULES, "grader.gatehouse.switch", path)
    with pytest.raises(AssertionError, match="grader.gatehouse.switch:2"):
        test_only_the_served_home_knows_that_an_account_can_be_served()
