"""The architecture as a graph: torchview's trace of one forward pass, as plain data.

torchview (https://github.com/mert-kurttutan/torchview) runs the network once with
a tensor subclass that records every module call and every torch function, and
keeps the nesting of calls. That pass runs here on PyTorch's "meta" device, like
the layer table: shapes are real, storage is none, so ResNet-152 or a 1024×1024
input costs no memory and the server's shared models are never touched.

torchview's own ``depth`` folds the graph: deeper calls are hidden and the edges
through them join up. Its nodes carry the *class* name ("Conv2d") and the id of
the module object, so this module maps them back to the dotted names of
``model.named_modules()`` that the layer table uses ("layer3.0.downsample.0"),
numbering repeated calls of one module ("layer1.0.relu (call 2)") the same way.

On top of that, runs of consecutive blocks of one type with the same output
shape (ResNet-152's 36 Bottlenecks in layer3) can be collapsed into one "× N"
node. torchview's ``roll`` is a different thing (it merges repeated calls of the
*same* module object into a loop), so the collapsing is done here.

The result is data (``Diagram``: nodes and edges) that tests check directly;
``explorer.figures.diagram`` turns it into Graphviz DOT.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from torch import nn
from torchview import draw_graph
from torchview.computation_node import FunctionNode, ModuleNode, TensorNode

from explorer.core.errors import UserError
from explorer.core.shape_only import META, build_meta_model
from explorer.core.registry import get_spec
from explorer.core.sizes import InputSize, check_size

INPUT, OUTPUT = "input", "output"


@dataclass(frozen=True)
class DiagramNode:
    """One box of the diagram: a layer, a block, a torch function, a collapsed run, or the input/output."""

    id: str
    # The layer table's name ("layer1.0.relu (call 2)"), a run ("layer3.0 … layer3.35"), a function
    # call ("add_() in layer1.0"), "input" or "output".
    name: str
    module: str | None  # the dotted module name a link opens, None where there is none (input, output)
    type: str  # class name ("Conv2d", "Bottleneck") or function name ("add_", "cat", "flatten")
    kind: str  # "layer", "block", "function", "repeat", "input" or "output"
    settings: str  # "3×3, stride 2, 64→128 channels"; empty where nothing is worth saying
    output_shape: tuple[int, ...]
    depth: int
    count: int = 1  # how many blocks a "repeat" node stands for
    clusters: tuple[str, ...] = ()  # the opened blocks it sits in, outermost first (dashed boxes)


@dataclass(frozen=True)
class Diagram:
    """The graph of one architecture at one input size, folded to ``depth``."""

    arch_id: str
    input_shape: tuple[int, ...]
    depth: int
    max_depth: int
    collapsed: bool
    nodes: tuple[DiagramNode, ...]
    edges: tuple[tuple[str, str], ...]
    cluster_types: dict[str, str] = field(default_factory=dict)  # opened block name -> its class name

    def node(self, name: str) -> DiagramNode:
        return next(n for n in self.nodes if n.name == name)

    def inputs_of(self, node_id: str) -> list[str]:
        return [tail for tail, head in self.edges if head == node_id]

    def outputs_of(self, node_id: str) -> list[str]:
        return [head for tail, head in self.edges if tail == node_id]


@dataclass
class _Call:
    """One module call as torchview's call tree records it, with its dotted name."""

    node: ModuleNode
    name: str
    children: list = field(default_factory=list)  # _Call objects and FunctionNodes, in call order


def max_depth(arch_id: str) -> int:
    """How deep the module tree goes (1: the model's direct children)."""
    model = build_meta_model(get_spec(arch_id))
    return max(name.count(".") + 1 for name, _ in model.named_modules() if name)


def _settings(module: nn.Module | None) -> str:
    """The few numbers that define a layer, in words a student reads at a glance."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        text = f"{kh}×{kw}, stride {module.stride[0]}, {module.in_channels}→{module.out_channels} ch"
        return text + (f", {module.groups} groups" if module.groups > 1 else "")
    if isinstance(module, nn.Linear):
        return f"{module.in_features}→{module.out_features}"
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        k, s = module.kernel_size, module.stride
        k = k if isinstance(k, int) else k[0]
        s = s if isinstance(s, int) else s[0]
        return f"{k}×{k}, stride {s}"
    if isinstance(module, nn.BatchNorm2d):
        return f"{module.num_features} ch"
    if isinstance(module, nn.Dropout):
        return f"p={module.p}"
    return ""


def _call_tree(graph, names: dict[int, str]) -> list[_Call]:
    """torchview's nested ``node_hierarchy`` as _Call objects named like the layer table."""
    calls_seen: dict[int, int] = {}

    def build(entry):
        if isinstance(entry, dict):
            (module_node, children), = entry.items()
            name = names.get(module_node.compute_unit_id, "")
            if module_node.depth >= 1:
                calls_seen[module_node.compute_unit_id] = calls_seen.get(module_node.compute_unit_id, 0) + 1
                nth = calls_seen[module_node.compute_unit_id]
                name = name if nth == 1 else f"{name} (call {nth})"
            call = _Call(module_node, name)
            call.children = [c for c in (build(child) for child in children) if c is not None]
            return call
        return entry if isinstance(entry, FunctionNode) else None

    return [build(graph.node_hierarchy)]


def _structure(module: nn.Module) -> tuple:
    """What a block is made of: every submodule's relative name, type and settings."""
    return tuple((name, type(sub).__name__, _settings(sub)) for name, sub in module.named_modules())


def _alike(previous: _Call, call: _Call, modules: dict[str, nn.Module], in_sequence: bool) -> bool:
    """Whether ``call`` repeats ``previous``: same block type and output shape, fed by it.

    Inside an ``nn.Sequential`` (ResNet's stages) that is the whole rule, so a stage's first
    block, which also downsamples, counts among its N blocks. Elsewhere (Inception's modules
    and their branches) the two must also be built alike and chained, or parallel branches
    and different layers of one type would be merged.
    """
    if call.node.name != previous.node.name or call.node.output_shape != previous.node.output_shape:
        return False
    if in_sequence:
        return True
    same_build = _structure(modules[_module_name(call.name)]) == _structure(modules[_module_name(previous.name)])
    return same_build and call.node.input_shape == previous.node.output_shape


def _module_name(call_name: str) -> str:
    return call_name.split(" (call")[0]


def _runs(call: _Call, modules: dict[str, nn.Module]) -> list[list[_Call]]:
    """Consecutive child blocks that repeat one another, two or more in a row."""
    in_sequence = isinstance(modules.get(_module_name(call.name)), nn.Sequential)
    runs, current = [], []
    for child in call.children:
        # torchview's ``is_container`` means "has no submodules": layers are never collapsed.
        block = child if isinstance(child, _Call) and not child.node.is_container else None
        if block is not None and current and _alike(current[-1], block, modules, in_sequence):
            current.append(block)
            continue
        if len(current) > 1:
            runs.append(current)
        current = [block] if block is not None else []
    if len(current) > 1:
        runs.append(current)
    return runs


def build_diagram(arch_id: str, size: InputSize, depth: int | None = None, collapse: bool = True) -> Diagram:
    """The diagram of ``arch_id`` at ``size``, folded to ``depth`` (None: every layer).

    With ``collapse``, a run of N like blocks is one "× N" node at the depth of the
    blocks; deeper, the first block of the run is opened and the other N-1 are one node.
    """
    spec = get_spec(arch_id)
    check_size(spec, size)
    model = build_meta_model(spec)
    modules = dict(model.named_modules())
    deepest = max(name.count(".") + 1 for name in modules if name)
    depth = deepest if depth is None else max(1, min(int(depth), deepest))
    try:
        graph = draw_graph(
            model, input_size=size.shape(spec), device=META, depth=depth, mode="eval",
            hide_inner_tensors=True, hide_module_functions=True, roll=False, expand_nested=False,
        )
    except RuntimeError as error:  # torchview wraps the shape error of the forward pass
        raise UserError(f"{spec.name} cannot process a {size.label} input.") from error
    names = {id(module): name for name, module in modules.items()}
    return _fold(spec.id, size.shape(spec), graph, names, modules, depth, deepest, collapse)


def _fold(arch_id, input_shape, graph, names, modules, depth, deepest, collapse) -> Diagram:
    """torchview's visible nodes, with collapsed runs merged, as a Diagram."""
    # Where each torchview node sits: the chain of block calls above it, and which run owns it.
    chain_of: dict[int, list[_Call]] = {}
    order_of: dict[int, int] = {}  # execution order, to list the nodes the way the data flows
    call_of: dict[int, _Call] = {}
    run_of: dict[int, tuple[list[_Call], int]] = {}  # id(call) -> (its run, its index in the run)

    def visit(call: _Call, chain: list[_Call]) -> None:
        call_of[id(call.node)] = call
        chain_of[id(call.node)] = chain
        order_of[id(call.node)] = len(order_of)
        if collapse:
            for run in _runs(call, modules):
                for index, member in enumerate(run):
                    run_of[id(member)] = (run, index)
        inner = chain + [call] if call.node.depth >= 1 else chain
        for child in call.children:
            if isinstance(child, _Call):
                visit(child, inner)
            else:
                chain_of[id(child)] = inner
                order_of[id(child)] = len(order_of)

    for root in _call_tree(graph, names):
        visit(root, [])

    nodes: dict[str, DiagramNode] = {}
    rank: dict[str, float] = {}

    def add(key: str, make, order: float) -> str:
        if key not in nodes:
            nodes[key] = make("")
            rank[key] = order
        return key

    def run_node(run: list[_Call], start: int, chain: list[_Call]) -> str:
        members = run[start:]
        first, last = members[0], members[-1]
        return add(f"run:{first.name}", lambda nid: DiagramNode(
            id=nid, name=f"{first.name} … {last.name}", module=first.name,
            type=f"{first.node.name} × {len(members)}", kind="repeat", settings="", count=len(members),
            output_shape=tuple(last.node.output_shape[0]), depth=first.node.depth,
            clusters=tuple(c.name for c in chain),
        ), order_of[id(first.node)])

    def key_for(tv_node) -> str:
        if isinstance(tv_node, TensorNode):
            kind = INPUT if tv_node.is_root() or tv_node.main_node.is_root() else OUTPUT
            return add(kind, lambda nid: DiagramNode(
                id=nid, name=kind, module=None, type="tensor", kind=kind, settings="",
                output_shape=tuple(tv_node.tensor_shape), depth=0,
            ), -1 if kind == INPUT else float("inf"))
        chain = chain_of.get(id(tv_node), [])
        own = call_of.get(id(tv_node))
        for level, call in enumerate(chain + ([own] if own else [])):
            if id(call) in run_of:
                run, index = run_of[id(call)]
                if call is own:
                    return run_node(run, 0, chain[:level])
                if index > 0 and len(run) > 2:  # a lone second block is simply drawn open
                    return run_node(run, 1, chain[:level])
        clusters = tuple(c.name for c in chain)
        if own is not None:
            leaf = own.node.is_container
            return add(f"call:{own.name}", lambda nid: DiagramNode(
                id=nid, name=own.name, module=_module_name(own.name),
                type=own.node.name, kind="layer" if leaf else "block",
                settings=_settings(modules.get(_module_name(own.name))),
                output_shape=tuple(tv_node.output_shape[0]), depth=own.node.depth, clusters=clusters,
            ), order_of[id(tv_node)])
        parent = clusters[-1] if clusters else ""
        return add(f"fn:{id(tv_node)}", lambda nid: DiagramNode(
            id=nid, name=f"{tv_node.name}() in {parent}" if parent else f"{tv_node.name}()",
            module=_module_name(parent) or None, type=tv_node.name, kind="function", settings="",
            output_shape=tuple(tv_node.output_shape[0]), depth=tv_node.depth, clusters=clusters,
        ), order_of[id(tv_node)])

    edges: list[tuple[str, str]] = []
    for tail, head in graph.edge_list:
        pair = (key_for(tail), key_for(head))
        if pair[0] != pair[1] and pair not in edges:
            edges.append(pair)
    ordered = sorted(nodes, key=rank.__getitem__)
    nodes = {key: replace(nodes[key], id=f"n{index}") for index, key in enumerate(ordered)}
    cluster_types = {}
    for node in nodes.values():
        for name in node.clusters:
            cluster_types.setdefault(name, type(modules.get(_module_name(name), nn.Module())).__name__)
    return Diagram(
        arch_id=arch_id, input_shape=tuple(input_shape), depth=depth, max_depth=deepest, collapsed=collapse,
        nodes=tuple(nodes.values()), edges=tuple((nodes[a].id, nodes[b].id) for a, b in edges),
        cluster_types=cluster_types,
    )

