"""The shape of the code on both sides: imports run one way, the library never imports the UI, files stay small.

The library (explorer/) and the app (app.py, pages/, ui/) are checked alike; on the app side
pages/ holds page scripts only, and only ui/streamlit_adapter.py touches Streamlit's internals.

The import graph is read from the source with ``ast`` (every import, including those made
inside functions, which is where a circle hides), so nothing is imported to check it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

LIBRARY = ROOT / "explorer"
APP_FILES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").rglob("*.py"))]
ADAPTER = ROOT / "ui" / "streamlit_adapter.py"
MAX_LINES = 300


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imported_names(path: Path) -> list[tuple[str, int]]:
    """Every module name an import in ``path`` can refer to (``from a import b`` gives ``a`` and ``a.b``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: count the dots up from this module's package
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            found += [(base, node.lineno)] + [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return found


def import_graph(paths: list[Path] | None = None) -> dict[str, set[str]]:
    """Modules (explorer's by default) and the modules among them each one imports (a package counts as its __init__)."""
    modules = {module_name(path): path for path in (paths if paths is not None else LIBRARY.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for target, _ in imported_names(path):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            # A module sits inside its own packages; importing them is not an edge back up.
            if target and target != name and not name.startswith(target + "."):
                targets.add(target)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def room_of(module: str) -> str:
    """The room (subpackage) a module lives in: explorer.runs.capture → runs, ui.panels.step_view → panels."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else module


def app_graph() -> dict[str, set[str]]:
    """The app's modules (app.py, the page scripts, ui/) and the app modules each one imports."""
    return import_graph(APP_FILES)


def test_the_cycle_finder_finds_a_circle_of_three_and_ignores_a_chain():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_graph_is_read_from_real_imports():
    graph = import_graph()
    # Two edges that must be there for the house to work at all: if these were missing,
    # the reader would be blind and the next tests would pass for nothing.
    assert "explorer.core.registry" in graph["explorer.core.sizes"]
    assert "explorer.runs.capture" in graph["explorer.cli.run_commands"]


def test_no_import_circle_among_explorer_modules():
    assert cycles(import_graph()) == []


def test_the_app_graph_is_read_from_real_imports_and_has_no_circle():
    graph = app_graph()
    assert "ui.frame" in graph["app"] and "ui.selection.sidebar" in graph["pages.layer-table"]
    assert "ui.selection.record" in graph["ui.selection.address_bar"]  # the record that broke a circle
    assert cycles(graph) == []


def test_the_app_rooms_import_only_downwards_and_nothing_imports_a_page():
    rooms: dict[str, set[str]] = {}
    for module, targets in app_graph().items():
        rooms.setdefault(room_of(module), set()).update(room_of(t) for t in targets if room_of(t) != room_of(module))
    assert cycles(rooms) == [], "a room of ui/ imports a room that imports it back"
    assert [module for module, targets in app_graph().items() if any(t.startswith("pages") for t in targets)] == []


def test_pages_holds_only_the_pages_of_the_navigation():
    frame = (ROOT / "ui" / "frame.py").read_text(encoding="utf-8")
    listed = {node.value for node in ast.walk(ast.parse(frame))
              if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("pages/")}
    assert {f"pages/{path.name}" for path in (ROOT / "pages").iterdir()} - {"pages/__pycache__"} == listed


# The distinctive names of the internals that ui/streamlit_adapter.py lists (its INTERNALS).
INTERNAL_WORDS = ("request_rerun", "has_fragment", "_browser_queue", "_script_hash", "ClientState", "ThreadState",
                  "is_active_session", "get_app_session", "fragment_ids_this_run", "Runtime")


def streamlit_internals(path: Path) -> list[str]:
    """Streamlit's private machinery that ``path`` names: modules beyond the public API, and the adapter's internals."""
    public = {"streamlit", "streamlit.runtime.scriptrunner", "streamlit.runtime.scriptrunner.get_script_run_ctx",
              "streamlit.testing.v1", "streamlit.testing.v1.AppTest", "streamlit.components.v1"}
    found = [f"imports {name}" for name, _ in imported_names(path)
             if name.startswith("streamlit.") and name not in public]
    text = path.read_text(encoding="utf-8")
    return found + [f"names {word}" for word in INTERNAL_WORDS if word in text]


def test_only_the_adapter_touches_streamlits_internals():
    from ui.streamlit_adapter import INTERNALS

    assert all(any(word in internal for internal in INTERNALS) for word in INTERNAL_WORDS)
    assert "names request_rerun" in streamlit_internals(ADAPTER)  # the check can see what it looks for
    touching = {str(path.relative_to(ROOT)): found for path in APP_FILES if path != ADAPTER
                if (found := streamlit_internals(path))}
    assert touching == {}


def test_rooms_import_only_downwards():
    rooms: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        rooms.setdefault(room_of(module), set()).update(room_of(t) for t in targets if room_of(t) != room_of(module))
    assert cycles(rooms) == [], "a room imports a room that imports it back"


def test_the_library_never_imports_the_ui():
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in LIBRARY.rglob("*.py")
        for name, line in imported_names(path)
        if name.split(".")[0] in ("streamlit", "pages", "ui", "app")
    ]
    assert offenders == []


@pytest.mark.parametrize("folder", ["explorer", "pages", "ui"])
def test_no_file_is_longer_than_the_house_allows(folder):
    long_files = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / folder).rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long_files == {}


def test_every_module_says_what_it_is_for():
    missing = [
        str(path.relative_to(ROOT))
        for folder in ("explorer", "pages", "ui")
        for path in (ROOT / folder).rglob("*.py")
        if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert missing == []


def test_the_checks_above_read_the_library_they_mean():
    # Each check above is a comprehension over LIBRARY.rglob: with no files it would pass having read nothing.
    modules = {path.relative_to(LIBRARY).as_posix() for path in LIBRARY.rglob("*.py")}
    assert {"__main__.py", "runs/cams.py", "core/registry.py", "handconv/__init__.py"} <= modules and len(modules) > 60
