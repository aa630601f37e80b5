"""A ``Diagram`` as Graphviz DOT text, and DOT as SVG where a Graphviz renderer is installed.

The DOT is written here (not taken from torchview's own Digraph) because its
labels and links are ours: dotted layer names, key settings, output shapes, a
URL per node that opens the layer on the other pages, and dashed boxes for the
blocks that are opened up.

Browsers draw the DOT themselves (Streamlit's ``graphviz_chart`` runs Graphviz
compiled to WebAssembly), so the page needs no renderer on the server. Only the
SVG download does: ``render_svg`` uses the official ``dot`` program where one is
on the PATH and otherwise the ``graphviz-pure`` wheel's ``graphviz-pure``
command (a port of Graphviz's dot layout installed by pip, so a plain
``pip install -r requirements.txt`` can make SVGs).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from explorer.analysis.diagram import Diagram, DiagramNode

# Fill colours by what a node does, so a student sees convolutions, shortcuts and joins at a glance.
_FILL = {
    "Conv2d": "#cfe2ff",
    "Linear": "#ffd8a8",
    "BatchNorm2d": "#e9ecef",
    "MaxPool2d": "#d3f9d8",
    "AvgPool2d": "#d3f9d8",
    "AdaptiveAvgPool2d": "#d3f9d8",
    "max_pool2d": "#d3f9d8",
    "avg_pool2d": "#d3f9d8",
    "adaptive_avg_pool2d": "#d3f9d8",
    "add": "#fff3bf",
    "add_": "#fff3bf",
    "cat": "#fff3bf",
}
_KIND_FILL = {"block": "#e5dbff", "repeat": "#e5dbff", "input": "#f8f9fa", "output": "#f8f9fa"}
RENDER_TIMEOUT_S = 60


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape)


def node_label(node: DiagramNode) -> str:
    """Name, then type and settings, then output shape: one short line each."""
    if node.kind in ("input", "output"):
        return f"{node.kind}\n{shape_text(node.output_shape)}"
    if node.kind == "function":  # its name already says which function ran
        return f"{node.name}\n{shape_text(node.output_shape)}"
    kind_line = node.type + (f"  {node.settings}" if node.settings else "")
    return f"{node.name}\n{kind_line}\n{shape_text(node.output_shape)}"


def _node_attributes(node: DiagramNode, link: str | None, selected: bool) -> str:
    fill = _FILL.get(node.type, _KIND_FILL.get(node.kind, "#ffffff"))
    attributes = {
        "label": node_label(node),
        "fillcolor": fill,
        "tooltip": f"{node.name}: {node.type}" + (f", {node.settings}" if node.settings else ""),
    }
    if node.kind == "repeat":
        attributes["peripheries"] = "2"  # a stack of like blocks
    if node.kind == "function":
        attributes["shape"] = "ellipse"
    if selected:
        attributes.update(color="#d6336c", penwidth="3")
    if link:
        attributes.update(URL=link, target="_self")
    return ", ".join(f"{key}={_quote(value)}" for key, value in attributes.items())


def to_dot(
    diagram: Diagram,
    link: Callable[[DiagramNode], str | None] = lambda node: None,
    selected: str | None = None,
) -> str:
    """DOT text; ``link`` gives the URL of a node with a module, ``selected`` names the node or box to highlight."""
    lines = [
        "digraph architecture {",
        '  graph [rankdir=TB, ranksep=0.25, nodesep=0.2, fontname="Helvetica", fontsize=10];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=9, margin="0.08,0.03"];',
        '  edge [arrowsize=0.6, color="#495057"];',
    ]
    # Nested dashed boxes for opened blocks: a tree of cluster names, nodes at their innermost box.
    tree: dict[tuple[str, ...], list[DiagramNode]] = {}
    for node in diagram.nodes:
        tree.setdefault(node.clusters, []).append(node)
    prefixes = sorted({node.clusters[:i] for node in diagram.nodes for i in range(len(node.clusters) + 1)})

    def emit(prefix: tuple[str, ...], indent: str) -> None:
        for node in tree.get(prefix, []):
            is_selected = selected is not None and (
                node.name == selected or (node.module == selected and node.kind != "function")
            )
            url = link(node) if node.module else None  # the input, output and top-level functions link nowhere
            lines.append(f"{indent}{node.id} [{_node_attributes(node, url, is_selected)}];")
        for child in (p for p in prefixes if len(p) == len(prefix) + 1 and p[: len(prefix)] == prefix):
            name = child[-1]
            lines.append(f"{indent}subgraph {_quote('cluster_' + name)} {{")
            label = f"{name} ({diagram.cluster_types.get(name, '')})"
            colour = "#d6336c" if name == selected else "#868e96"
            lines.append(f'{indent}  label={_quote(label)}; style="dashed,rounded"; color="{colour}"; labeljust=l;')
            emit(child, indent + "  ")
            lines.append(f"{indent}}}")

    emit((), "  ")
    lines += [f"  {tail} -> {head};" for tail, head in diagram.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg_renderer() -> list[str] | None:
    """The command that turns DOT on stdin into SVG on stdout, or None if none is installed."""
    official = shutil.which("dot")
    if official:
        return [official, "-Tsvg"]
    # pip puts console scripts next to the interpreter, which need not be on the PATH.
    bundled = shutil.which("graphviz-pure") or str(Path(sys.executable).with_name("graphviz-pure"))
    if Path(bundled).is_file():
        return [bundled, "-Tsvg"]
    return None


def render_svg(dot: str) -> bytes | None:
    """SVG bytes of ``dot``, or None when no renderer is installed or it fails."""
    command = svg_renderer()
    if command is None:
        return None
    try:
        done = subprocess.run(command, input=dot.encode(), capture_output=True, timeout=RENDER_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 and b"<svg" in done.stdout else None
