"""Plotly figures for the parameter breakdowns and the architecture comparison.

Pure functions: a DataFrame from ``explorer.analysis.parameter_counts`` or ``explorer.analysis.compare`` in,
a ``plotly.graph_objects.Figure`` out. Every hover shows the exact count and
its percentage, so a student can read the numbers the lab works out by hand.
Each kind of layer keeps one colour across every chart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from explorer.analysis.parameter_counts import CONV, FC, KINDS, NORM, OTHER
from explorer.core.registry import families

KIND_COLOURS = {CONV: "#4C78A8", FC: "#F58518", NORM: "#54A24B", OTHER: "#B279A2"}
KIND_LABELS = {CONV: "Convolution", FC: "Fully-connected", NORM: "Normalisation", OTHER: "Other"}
GROUP_COLOUR = "#E8ECF2"
BIAS_COLOUR = "#555555"
# One colour per family in every comparison chart, in the registry's (oldest first) order.
FAMILY_COLOURS = dict(zip(families(), qualitative.D3))
# Past this many bars, names on the axis would overlap into a grey smear; hover still names each bar.
MAX_NAMED_BARS = 60


def _custom(rows: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Hover data that keeps numbers as numbers next to text (np.column_stack would make all of it text)."""
    return rows[columns].to_numpy(dtype=object)


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(title=title, height=height, margin={"l": 10, "r": 10, "t": 50, "b": 10}, legend_title_text="")
    return fig


def kind_share_chart(kinds: pd.DataFrame) -> go.Figure:
    """A doughnut of parameters per kind of layer (kinds with none left out)."""
    present = kinds[kinds["params"] > 0]
    fig = go.Figure(
        go.Pie(
            labels=[KIND_LABELS[k] for k in present["kind"]],
            values=present["params"],
            marker={"colors": [KIND_COLOURS[k] for k in present["kind"]]},
            customdata=present["layers"],
            hole=0.45,
            sort=False,
            texttemplate="%{label}<br>%{percent:.1%}",
            # Slivers (batch norm's 0.1 %) get no label rather than one that runs into the title.
            textposition="inside",
            insidetextorientation="horizontal",
            hovertemplate="%{label}: %{value:,} parameters<br>%{percent:.2%} of the network"
            "<br>in %{customdata} layers<extra></extra>",
        )
    )
    fig.update_layout(uniformtext={"minsize": 10, "mode": "hide"})
    return _layout(fig, "Parameters by kind of layer")


def weight_bias_chart(
    kinds: pd.DataFrame, title: str = "Weights and biases per kind", x_max: float | None = None, all_kinds: bool = False
) -> go.Figure:
    """Stacked bars per kind: weights in the kind's colour, biases in grey, labelled since they are often tiny.

    ``x_max`` and ``all_kinds`` put two networks on one scale with the same rows. The axis
    runs a quarter past the longest bar to leave room for the bias labels.
    """
    if not all_kinds:
        kinds = kinds[kinds["params"] > 0]
    total = max(int(kinds["params"].sum()), 1)
    labels = [KIND_LABELS[k] for k in kinds["kind"]]
    fig = go.Figure()
    for part, colour in (("weight", [KIND_COLOURS[k] for k in kinds["kind"]]), ("bias", BIAS_COLOUR)):
        of_kind = kinds[part] / kinds["params"].where(kinds["params"] > 0, 1)
        fig.add_bar(
            name=f"{part}s",
            y=labels,
            x=kinds[part],
            orientation="h",
            marker_color=colour,
            customdata=np.column_stack([of_kind, kinds[part] / total]),
            hovertemplate=f"%{{y}} {part}s: %{{x:,}}<br>%{{customdata[0]:.2%}} of this kind"
            "<br>%{customdata[1]:.2%} of the network<extra></extra>",
        )
    biases = fig.data[1]
    biases.text = [f"{n:,} biases" if n else "" for n in kinds["bias"]]
    biases.textposition = "outside"
    fig.update_layout(barmode="stack", showlegend=False)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="parameters: weights in colour, biases in grey", range=[0, (x_max or kinds["params"].max()) * 1.25])
    return _layout(fig, title)


def layer_bar_chart(layers: pd.DataFrame, log_scale: bool = False) -> go.Figure:
    """One bar per parameter-holding layer, in execution order, coloured by kind."""
    fig = go.Figure()
    position = np.arange(len(layers))
    for kind in KINDS:
        mine = layers["kind"] == kind
        if not mine.any():
            continue
        rows = layers[mine]
        fig.add_bar(
            name=KIND_LABELS[kind],
            x=rows["name"],
            y=rows["params"],
            marker_color=KIND_COLOURS[kind],
            customdata=_custom(rows.assign(number=position[mine.to_numpy()] + 1), ["share", "type", "formula", "number"]),
            hovertemplate="#%{customdata[3]} %{x} (%{customdata[1]})<br>%{y:,} parameters, "
            "%{customdata[0]:.2%} of the network<br>%{customdata[2]}<extra></extra>",
        )
    fig.update_xaxes(
        categoryorder="array",
        categoryarray=layers["name"],
        showticklabels=len(layers) <= MAX_NAMED_BARS,
        title="layers in execution order" + ("" if len(layers) <= MAX_NAMED_BARS else " (hover for names)"),
    )
    fig.update_yaxes(type="log" if log_scale else "linear", title="parameters" + (" (log scale)" if log_scale else ""))
    fig.update_layout(bargap=0.1)
    return _layout(fig, "Parameters per layer", height=420)


def hierarchy_chart(nodes: pd.DataFrame, depth_shown: int = 3) -> go.Figure:
    """A treemap stage › block › layer; ``depth_shown`` levels at a time, click a box to zoom in."""
    colours = [KIND_COLOURS.get(kind, GROUP_COLOUR) for kind in nodes["kind"]]
    fig = go.Figure(
        go.Treemap(
            ids=nodes["id"],
            parents=nodes["parent"],
            labels=nodes["label"],
            values=nodes["params"],
            branchvalues="total",
            maxdepth=depth_shown,
            marker={"colors": colours},
            texttemplate="%{label}<br>%{value:,}",
            customdata=_custom(nodes, ["path", "parent_path"]),
            hovertemplate="%{customdata[0]}<br>%{value:,} parameters<br>%{percentRoot:.2%} of the network"
            "<br>%{percentParent:.2%} of %{customdata[1]}<extra></extra>",
        )
    )
    return _layout(fig, "Where the parameters sit: stage › block › layer (click to zoom)", height=560)


def accuracy_scatter(table: pd.DataFrame) -> go.Figure:
    """ImageNet top-1 accuracy against multiply-adds; bubble area follows parameters."""
    rated = table.dropna(subset=["acc1"])
    fig = go.Figure()
    largest = max(int(rated["params"].max()), 1) if len(rated) else 1
    for family, rows in rated.groupby("family", sort=False):
        fig.add_scatter(
            name=family,
            x=rows["mult_adds"] / 1e9,
            y=rows["acc1"],
            mode="markers",
            marker={
                "size": rows["params"],
                "sizemode": "area",
                "sizeref": 2.0 * largest / 60**2,
                "sizemin": 4,
                "color": FAMILY_COLOURS.get(family),
            },
            customdata=_custom(rows, ["name", "params", "acc5", "mult_adds"]),
            hovertemplate="%{customdata[0]}<br>top-1 %{y:.3f}%, top-5 %{customdata[2]:.3f}%"
            "<br>%{customdata[3]:,} multiply-adds<br>%{customdata[1]:,} parameters<extra></extra>",
        )
    fig.update_xaxes(
        type="log",
        title="multiply-adds per image at the default input (billions, log scale)",
        tickvals=[0.5, 1, 2, 5, 10, 20],
    )
    fig.update_yaxes(title="ImageNet top-1 accuracy (%)")
    return _layout(fig, "Accuracy against cost (bubble area = parameters)", height=480)


def timeline_chart(table: pd.DataFrame) -> go.Figure:
    """Parameters by publication year, one colour per family (log scale: sizes span orders of magnitude)."""
    dated = table.dropna(subset=["year"])
    fig = go.Figure()
    for family, rows in dated.groupby("family", sort=False):
        fig.add_scatter(
            name=family,
            x=rows["year"].astype(int),
            y=rows["params"],
            mode="markers",
            marker={"size": 12, "opacity": 0.8, "color": FAMILY_COLOURS.get(family)},
            customdata=_custom(rows, ["name", "mult_adds"]),
            hovertemplate="%{customdata[0]} (%{x})<br>%{y:,} parameters"
            "<br>%{customdata[1]:,} multiply-adds<extra></extra>",
        )
    fig.update_xaxes(title="year published", dtick=2)
    fig.update_yaxes(type="log", title="parameters (log scale)", dtick=1)  # one tick per power of ten
    return _layout(fig, "Parameters over the years", height=420)


def png_export_config(filename: str) -> dict:
    """Plotly's toolbar settings: always shown, with its camera button saving a sharp PNG named ``filename``."""
    return {
        "displayModeBar": True,
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
    }
