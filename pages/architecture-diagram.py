"""Architecture diagram: the chosen network as a graph of layers and blocks, linked to the other pages.

The graph comes from torchview's trace of one meta-device forward pass (see
explorer.analysis.diagram); the browser draws its DOT. A node's link, the node
picker beside the diagram and a click on a row of its node table put
``?layer=<dotted name>`` in the URL that the layer table, parameter and feature-map
pages read; the depth and the collapsing of repeated blocks are in the URL too
(``?depth=3&collapse=1``), so a copied link opens the same picture.

Everything below the title is a fragment: depth, collapse and the node rerun only it,
from cached diagrams. The selected node lives in ``dg_node`` (ui.selection.view_state).
"""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from explorer.analysis.diagram import Diagram, build_diagram, max_depth
from explorer.core.sizes import InputSize, size_problem
from explorer.figures.diagram import render_svg, shape_text, to_dot
from ui.caches.networks import stop_if
from ui.classroom import follow
from ui.frame import keep_in_frame
from ui.selection import address_bar as url
from ui.selection.address_bar import selection_query
from ui.selection.sidebar import current_selection
from ui.selection.view_state import DIAGRAM_NODE
from ui.widgets.images import picture
from ui.widgets.text import plain

keep_in_frame()  # Streamlit's first-link lookup may run this file alone: the frame then draws it (ui/frame.py)

# The diagram a teacher wants first: the deepest fold that still fits a screen or two.
READABLE_NODES = 150
LINKED_PAGES = [  # page file, link text, icon
    ("pages/layer-table.py", "Its row in the layer table", ":material/table_rows:"),
    ("pages/parameter-breakdown.py", "Its parameters", ":material/calculate:"),
    ("pages/feature-maps.py", "Its feature maps", ":material/image_search:"),
]
# Above this many boxes the browser's own Graphviz (WebAssembly, plus d3 joining every element)
# took 27 s for ResNet-152's 517 and froze the page while it worked; the server draws those.
BROWSER_LAYOUT_LIMIT = 150
# Where a click on a box goes: the layer table's url_path (app.py), relative so a server
# under a base path works too.
NODE_LINK_PAGE = "layer-table"


# Resource caches: the diagrams are read-only, and a data cache would unpickle a copy of each one
# default_depth looks at on every run (ResNet-152's has 517 nodes).
@st.cache_resource(max_entries=48, show_spinner="Tracing the network with torchview…")
def cached_diagram(arch_id: str, height: int, width: int, batch: int, depth: int, collapse: bool) -> Diagram:
    return build_diagram(arch_id, InputSize(height, width, batch), depth, collapse)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_max_depth(arch_id: str) -> int:
    return max_depth(arch_id)


@st.cache_data(max_entries=16, show_spinner="Drawing the SVG…")
def cached_svg(dot: str) -> bytes | None:
    return render_svg(dot)


def default_depth(selection, deepest: int) -> int:
    size = selection.size
    for depth in range(deepest, 1, -1):
        diagram = cached_diagram(selection.spec.id, size.height, size.width, size.batch, depth, True)
        if len(diagram.nodes) <= READABLE_NODES:
            return depth
    return 1


def pickable(diagram: Diagram) -> list[str]:
    """Dotted names a person can open: the opened blocks (boxes) and the nodes' modules, in order."""
    names: list[str] = []
    for node in diagram.nodes:
        for name in (*node.clusters, node.module):
            if name and name not in names:
                names.append(name)
    return names


def _remember_layer() -> None:
    url.write_view(layer=st.session_state[DIAGRAM_NODE])


def _select_row() -> None:
    """A click on a row of the node table selects that row's layer or block."""
    rows = st.session_state["dg_table"].selection.rows
    targets = st.session_state.get("dg_row_targets", [])
    if rows and rows[0] < len(targets) and targets[rows[0]]:
        st.session_state[DIAGRAM_NODE] = targets[rows[0]]
        _remember_layer()


def selected_node(names: list[str]) -> str:
    """The selected node (``dg_node``): a link's ``?layer=`` when it is drawn, else the user's, else the first."""
    linked = st.query_params.get("layer")
    if st.session_state.get(DIAGRAM_NODE) not in names or (linked in names and linked != st.session_state.get(DIAGRAM_NODE)):
        st.session_state[DIAGRAM_NODE] = linked if linked in names else names[0]
    if linked and linked not in names:
        st.info(plain(f"{linked[:60]} is not drawn at this depth or sits inside a collapsed box; open more depth or "
                      "switch collapsing off."))
    with follow.followed("dg.node", DIAGRAM_NODE, options=names) as following:  # a class sees the teacher's node
        return st.selectbox("Selected node", names, key=DIAGRAM_NODE, on_change=_remember_layer, disabled=following,
                            help="Highlighted in the diagram; the links below open it on the other pages.")


def linked_fold(depth_key: str, deepest: int) -> None:
    """A link's ``?depth=&collapse=`` sets the two controls, once per link (afterwards the controls write it)."""
    wanted = (st.query_params.get("depth"), st.query_params.get("collapse"))
    if st.session_state.get("dg_linked_fold") == (depth_key, *wanted):
        return
    st.session_state["dg_linked_fold"] = (depth_key, *wanted)
    if wanted[0] and wanted[0].isdigit() and 1 <= int(wanted[0]) <= max(deepest, 2):
        st.session_state[depth_key] = int(wanted[0])
    if wanted[1] in ("0", "1"):
        st.session_state["dg_collapse"] = wanted[1] == "1"


def _write_fold(depth_key: str) -> None:
    """The controls' values into the address bar, and remembered as seen there (so not read back as a link)."""
    depth, collapse = str(st.session_state[depth_key]), "1" if st.session_state["dg_collapse"] else "0"
    url.write_view(depth=depth, collapse=collapse)
    st.session_state["dg_linked_fold"] = (depth_key, depth, collapse)


def _fold_drawable_here(teachers: dict, depth_key: str, deepest: int) -> dict:
    """The teacher's depth if this network has it, and the collapse switch."""
    values = {}
    if teachers.get(depth_key) in range(1, max(deepest, 2) + 1):
        values[depth_key] = teachers[depth_key]
    if isinstance(teachers.get("dg_collapse"), bool):
        values["dg_collapse"] = teachers["dg_collapse"]
    return values


@follow.fragment
def drawn_diagram(selection) -> None:
    """Depth, collapse, the picture and the node list; their controls rerun this alone."""
    spec, size = selection.spec, selection.size
    deepest = cached_max_depth(spec.id)
    depth_key = f"dg_depth_{spec.id}"  # each network remembers its own depth
    linked_fold(depth_key, deepest)
    depth_col, collapse_col = st.columns([3, 2])
    # A class sees the teacher's picture of the network: the same depth and collapsing.
    with follow.followed_keys("dg.fold", (depth_key, "dg_collapse"),
                              adapt=lambda values: _fold_drawable_here(values, depth_key, deepest)) as following:
        depth = depth_col.slider(
            "Depth: stages → blocks → every layer",
            min_value=1,
            max_value=max(deepest, 2),
            disabled=deepest == 1 or following,
            key=depth_key,
            on_change=_write_fold,
            args=(depth_key,),
            help="1 shows the network's stages; each step down opens blocks into what is inside them.",
            **({} if depth_key in st.session_state else {"value": default_depth(selection, deepest)}),
        )
        collapse = collapse_col.toggle(
            "Collapse repeated blocks (× N)",
            key="dg_collapse",
            disabled=following,
            on_change=_write_fold,
            args=(depth_key,),
            help="Consecutive blocks of one type with the same output shape become one box. Opened deeper, the first "
            "block of a run is drawn open and the rest stay one box. Switch off for the full expansion.",
            **({} if "dg_collapse" in st.session_state else {"value": True}),
        )
    _write_fold(depth_key)  # a link copied now opens this same picture
    diagram = cached_diagram(spec.id, size.height, size.width, size.batch, depth, collapse)

    names = pickable(diagram)
    picture, side = st.columns([5, 2])
    with side:
        chosen = selected_node(names)
        for page, label, icon in LINKED_PAGES:
            st.page_link(page, label=label, icon=icon, query_params=selection_query(selection, chosen))
        node_table(diagram, names)
        st.caption(f"{len(diagram.nodes)} nodes and {len(diagram.edges)} arrows at depth {depth} of {deepest}. "
                   "Click a row to select its layer.")
    with picture:
        draw(diagram, selection, chosen)
    downloads(diagram, spec, size, depth, collapse)


def node_table(diagram: Diagram, names: list[str]) -> None:
    nodes = pd.DataFrame(
        {
            "name": [n.name for n in diagram.nodes],
            "output": [shape_text(n.output_shape) for n in diagram.nodes],
            "type": [n.type for n in diagram.nodes],
            "settings": [n.settings for n in diagram.nodes],
        }
    )
    # What a click on each row selects: the node's own module, else the innermost block it sits in.
    st.session_state["dg_row_targets"] = [
        next((name for name in (n.module, *reversed(n.clusters)) if name in names), None) for n in diagram.nodes
    ]
    st.dataframe(
        nodes, hide_index=True, width="stretch", height=420, key="dg_table",
        on_select=_select_row, selection_mode="single-row",
        column_config={"name": "Node", "type": "Type", "settings": "Settings", "output": "Output shape"},
    )


def draw(diagram: Diagram, selection, chosen: str) -> None:
    def node_link(node) -> str | None:
        return f"{NODE_LINK_PAGE}?{urlencode(selection_query(selection, node.module))}" if node.module else None

    server_drawn = cached_svg(to_dot(diagram, selected=chosen)) if len(diagram.nodes) > BROWSER_LAYOUT_LIMIT else None
    if server_drawn is None:
        st.graphviz_chart(to_dot(diagram, node_link, selected=chosen), width="stretch")
    else:
        st.caption(
            f"{len(diagram.nodes)} boxes: drawn on the server as a picture, since a browser takes many seconds to "
            "lay out this many. Its boxes are not links; pick a node in the list beside it."
        )
        text = server_drawn.decode()
        alt = (f"Diagram of {len(diagram.nodes)} boxes joined by {len(diagram.edges)} arrows, input at the top; "
               "the list beside it names every node.")
        picture(text[text.index("<svg"):], alt, width="stretch")  # st.image takes SVG text that starts at <svg


def downloads(diagram: Diagram, spec, size, depth: int, collapse: bool) -> None:
    # Downloads are the plain diagram: no links (they point into this server) and no highlight.
    plain_dot = to_dot(diagram)
    stem = f"{spec.id}_{size.height}x{size.width}_depth{depth}{'' if collapse else '_expanded'}"
    svg = cached_svg(plain_dot)
    svg_col, dot_col = st.columns(2)
    if svg is None:
        svg_col.caption("SVG download needs Graphviz's dot program or the graphviz-pure package on the server.")
    else:
        svg_col.download_button("Download SVG (for slides)", svg, file_name=f"{stem}.svg", mime="image/svg+xml")
    dot_col.download_button("Download DOT (Graphviz source)", plain_dot.encode(), file_name=f"{stem}.dot",
                            mime="text/vnd.graphviz")


selection = current_selection()
spec, size = selection.spec, selection.size
st.title(f"Architecture diagram · {spec.name}")
st.caption(
    "Every box is a layer, a block or a torch function that ran in one forward pass of "
    f"{size.batch}×{spec.in_channels}×{size.height}×{size.width} numbers (traced by torchview on shapes alone); "
    "every arrow is a tensor passed on. Click a box to open that layer on the layer-table page."
)
stop_if(size_problem(spec, size))
drawn_diagram(selection)
