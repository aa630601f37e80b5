"""What Feature maps draws from a cached capture, cached in turn: a redraw encodes nothing twice.

A capture is cached server-wide (one forward pass per picture, network, size, device
and weights); the pictures drawn from it are too, keyed by the capture's key and the
view's settings: the channel grid, the path strip and photos as JPEG, crisp pictures as PNG
(``st.image`` sends encoded bytes on as they are, where it re-encodes an array on
every run), the enlarged
channel and the vector charts as plotly figures. A class on the same picture and
layer shares one drawing. Every cache here is bounded and holds read-only objects.
"""

from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from explorer.figures import feature_maps as feature_grid
from explorer.runs.capture_results import Capture, LayerOutput
from ui.panels import receptive_click

# "architecture id|height|width|device|weights key|picture digest": what fixes a capture, as one string
# (a cheaper cache key than a tuple; the caches below take keywords only, for the same reason: ui/caches).
CaptureKey = str
SHOWN_SIDE = 224  # the pictures at the top of the page are shown about this wide
PNG_COMPRESSION = 3  # zlib level: for the small crisp pictures, near level 9's size at a third of the time


def capture_key(arch_id: str, height: int, width: int, device: str, weights_key: str, digest: str) -> CaptureKey:
    return "|".join(str(part) for part in (arch_id, height, width, device, weights_key, digest))


def channel_list(channels) -> str:
    """Channel numbers as one string for a cache key (``channel_grid``)."""
    return ",".join(str(int(channel)) for channel in channels)


def png(picture: np.ndarray | Image.Image) -> bytes:
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESSION)
    return buffer.getvalue()


def jpeg(picture: np.ndarray | Image.Image) -> bytes:
    """A channel grid: fine-grained maps do not compress as PNG (ResNet-18's 64 maps of 56×56, enlarged:
    46 ms and 600 kB at zlib level 1), JPEG at quality 95 without chroma subsampling takes 9 ms for
    sharp tile edges and colours (Streamlit's own conversion of the array was JPEG at quality 100)."""
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95, subsampling=0)
    return buffer.getvalue()


def enlarged(picture: np.ndarray) -> np.ndarray:
    """Small inputs (LeNet's 32×32, the toys' 5×5) repeated into square blocks so they stay crisp."""
    factor = max(1, SHOWN_SIDE // max(picture.shape[:2]))
    return picture.repeat(factor, axis=0).repeat(factor, axis=1)


def shown_picture(image: Image.Image, crisp: bool) -> tuple[bytes, str]:
    """A picture for the page, encoded, and its format: a photo as JPEG (quality 95, no chroma subsampling:
    a 224×168 photo in 0.25 ms and 29 kB, against 3.6 ms and 74 kB as PNG), and as PNG what must stay crisp
    (a digit, small inputs enlarged into blocks) or is greyscale."""
    return (png(image), "PNG") if crisp or image.mode != "RGB" else (jpeg(image), "JPEG")


# About 60 kB a picture pair; 32 pairs.
@st.cache_resource(max_entries=32, show_spinner=False)
def input_pictures(*, key: CaptureKey, _original: Image.Image, _received: np.ndarray) -> tuple[tuple[bytes, str], ...]:
    """The picture as loaded and what the network receives (small ones enlarged), at the page's width,
    each as (encoded bytes, format)."""
    received = enlarged(_received)
    return (shown_picture(_at_most_shown_side(_original), crisp=_original.width < SHOWN_SIDE),
            shown_picture(_at_most_shown_side(Image.fromarray(received)), crisp=received.shape[0] > _received.shape[0]))


def _at_most_shown_side(image: Image.Image) -> Image.Image:
    # Wider than it is shown, st.image would scale it down again on every run. ``reducing_gap=1``: the
    # photo is first reduced by whole blocks to within one factor of its shown size, then resampled: the
    # 800×600 decode of a phone photo in 0.7 ms instead of 1.7 ms (gap 2 reduced nothing there), 1.7 grey
    # levels from a Lanczos resize on average instead of 1.3.
    if image.width <= SHOWN_SIDE:
        return image
    height = max(1, round(image.height * SHOWN_SIDE / image.width))
    return image.resize((SHOWN_SIDE, height), Image.Resampling.BILINEAR, reducing_gap=1.0)


@st.cache_resource(max_entries=32, show_spinner=False)
def path_strip(*, key: CaptureKey, _result: Capture, _shown: np.ndarray) -> bytes:
    """The strip as JPEG: at quality 95 without chroma subsampling its labels and square map pixels look the
    same as in PNG (compared enlarged) at about the same size (52 kB against 49 for ResNet-18), in 0.4 ms
    against 3.2 ms: its photo and fine-grained maps are what PNG compresses slowly."""
    return jpeg(feature_grid.path_strip(_result, _shown))


# A 64-channel grid is 0.2–0.8 MB of JPEG: 128 entries stay under about 100 MB.
@st.cache_resource(max_entries=128, show_spinner=False)
def channel_grid(*, key: CaptureKey, layer_index: int, channels: str, colour_map: str, per_channel: bool,
                 _layer: LayerOutput) -> bytes:
    """``channels``: the channel numbers shown, comma-separated (``channel_list``), in order."""
    maps = _layer.channel_maps([int(channel) for channel in channels.split(",")])
    low_high = (_layer.stats.minimum, _layer.stats.maximum)
    return jpeg(feature_grid.channel_grid(maps, colour_map, per_channel, low_high))


@st.cache_resource(max_entries=64, show_spinner=False)
def channel_heatmap(*, key: CaptureKey, layer_index: int, channel: int, colour_map: str, _layer: LayerOutput) -> go.Figure:
    """The enlarged channel, with the markers that make its squares clickable (a shared figure: never changed after)."""
    return receptive_click.clickable(feature_grid.channel_heatmap(_layer, channel, colour_map))


@st.cache_resource(max_entries=32, show_spinner=False)
def vector_chart(*, key: CaptureKey, layer_index: int, _layer: LayerOutput) -> go.Figure:
    return feature_grid.vector_chart(_layer)


@st.cache_resource(max_entries=32, show_spinner=False)
def probability_chart(*, key: CaptureKey, layer_index: int, classes: tuple[tuple[str, float], ...],
                      title: str) -> go.Figure:
    return feature_grid.probability_chart(list(classes), title)
