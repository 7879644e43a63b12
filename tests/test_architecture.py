"""The rules of the house (ARCHITECTURE.md), checked over the source: no
import circle between modules, the command line above the schema, modules
of a readable size."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "outreach"
MAX_LINES = 600

#: What ``outreach/cli/`` may not import, at any level (function-level lazy
#: imports too): the CLI calls services, it never reaches below them.
CLI_FORBIDDEN = (
    "outreach.schema",
    "outreach.db.bulk",
)

#: Known circles being untangled in rooms other engineers are moving; each
#: entry names its cycle as :func:`_cycles` reports it (sorted members).
KNOWN_CYCLES: set[tuple[str, ...]] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imports(module: str, path: Path, *, module_level: bool) -> set[str]:
    """The outreach modules *module* imports: at module level only (outside
    ``if TYPE_CHECKING:``, not inside functions), or everywhere."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, is_package, node)
                found.add(target)
                # `from outreach import letters` imports the module outreach.letters
                found.update(f"{target}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If) and _is_type_checking(node):
                if not module_level:
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if not module_level or isinstance(node, ast.ClassDef):
                    visit(node.body)
            elif isinstance(node, ast.If | ast.Try | ast.With | ast.For | ast.While):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, field, []):
                        visit(child.body if isinstance(child, ast.ExceptHandler) else [child])

    visit(tree.body)
    return {name for name in found if name == "outreach" or name.startswith("outreach.")}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for target in _imports(name, path, module_level=True):
            # a package's own modules may name it (`from outreach.db import
            # migrations`): it is already being imported, not a circle
            if target in modules and target != name and not name.startswith(target + "."):
                edges.add(target)
        graph[name] = edges
    # importing a.b.c runs a and a.b first
    for name in list(graph):
        for target in list(graph[name]):
            parts = target.split(".")
            for i in range(1, len(parts)):
                parent = ".".join(parts[:i])
                if parent in modules and parent != name and not name.startswith(parent + "."):
                    graph[name].add(parent)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[tuple[str, ...]] = []
    counter = [0]

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(tuple(sorted(group)))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def _path_through(graph: dict[str, set[str]], group: tuple[str, ...]) -> str:
    """One circle inside *group*, written ``a -> b -> a``."""
    members = set(group)
    start = group[0]
    path = [start]
    seen = {start}
    while True:
        nxt = sorted(w for w in graph[path[-1]] if w in members)
        back = [w for w in nxt if w == start]
        if back and len(path) > 1:
            return " -> ".join([*path, start])
        fresh = [w for w in nxt if w not in seen]
        if not fresh:
            return " -> ".join([*path, nxt[0]]) if nxt else " <-> ".join(group)
        path.append(fresh[0])
        seen.add(fresh[0])


def test_no_import_circle_at_module_level() -> None:
    graph = _graph()
    cycles = [c for c in _cycles(graph) if c not in KNOWN_CYCLES]
    assert not cycles, "import circles:\n" + "\n".join(_path_through(graph, c) for c in cycles)


def test_the_cycle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [("a", "b", "c")]
    assert _path_through(graph, ("a", "b", "c")) == "a -> b -> c -> a"


def test_the_import_walk_skips_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import outreach.errors\n"
        "from outreach.cli import options\n"
        "if TYPE_CHECKING:\n"
        "    from outreach.db import Database\n"
        "def f():\n"
        "    from outreach.schema import models\n",
        encoding="utf-8",
    )
    top = _imports("outreach.cli.m", source, module_level=True)
    assert top == {"outreach.errors", "outreach.cli", "outreach.cli.options"}
    everywhere = _imports("outreach.cli.m", source, module_level=False)
    assert {"outreach.db", "outreach.schema", "outreach.schema.models"} <= everywhere


def test_the_command_line_does_not_reach_below_the_services() -> None:
    offenders = []
    for name, path in _modules().items():
        if not name.startswith("outreach.cli"):
            continue
        for target in sorted(_imports(name, path, module_level=False)):
            if any(target == f or target.startswith(f + ".") for f in CLI_FORBIDDEN):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}: imports {target}")
    assert not offenders, "\n".join(offenders)


#: What the engines below the domains may import of outreach: each other and
#: the plain helpers at the top of the package.
ENGINE_ALLOWED = ("outreach.render", "outreach.templating", "outreach.safetext", "outreach.files",
                  "outreach.errors", "outreach.lazy", "outreach.resources")  # fmt: skip


def test_the_render_engines_know_only_the_letter() -> None:
    """render/ sits below the domains: it turns a LetterDoc into bytes and
    imports no domain package (the .eml message is sending's, not render's)."""
    offenders = []
    for name, path in _modules().items():
        if not name.startswith("outreach.render"):
            continue
        for target in sorted(_imports(name, path, module_level=False)):
            if target == "outreach" or not target.startswith("outreach."):
                continue
            if not any(target == a or target.startswith(a + ".") for a in ENGINE_ALLOWED):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}: imports {target}")
    assert not offenders, "\n".join(offenders)


def test_the_command_line_offers_every_letter_format() -> None:
    from outreach.cli.letters import FILE_FORMATS
    from outreach.letters.files import FORMATS

    assert FILE_FORMATS == FORMATS


def test_the_command_line_never_queries_tables_itself() -> None:
    offenders = []
    for path in sorted((PACKAGE / "cli").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                module = node.module if isinstance(node, ast.ImportFrom) else None
                in_type_checking = False
                if any(n.split(".")[0] == "sqlalchemy" for n in names) or (
                    module and module.split(".")[0] == "sqlalchemy"
                ):
                    # typing-only imports (under TYPE_CHECKING) are allowed
                    in_type_checking = _under_type_checking(tree, node)
                    if not in_type_checking:
                        offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not offenders, "the CLI imports SQLAlchemy at:\n" + "\n".join(offenders)


def _under_type_checking(tree: ast.Module, target: ast.AST) -> bool:
    return any(
        isinstance(node, ast.If)
        and _is_type_checking(node)
        and any(child is target for child in ast.walk(node))
        for node in ast.walk(tree)
    )


def test_no_module_is_over_600_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE.parent)): n
        for path in sorted(PACKAGE.rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, "modules over 600 lines: " + ", ".join(f"{p} ({n})" for p, n in long.items())
