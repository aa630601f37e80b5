"""A bounded disk cache of finished renders, keyed by network, weights, layer, channel, recipe and seed.

Renders cost seconds to minutes of CPU, and thirty students ask for the same ones, so
each is kept as a small PNG per picture plus a JSON record (the objective curve and the
activations). The folder is ``$CNN_EXPLORER_MICROSCOPE_CACHE``, else
``$XDG_CACHE_HOME/cnn-explorer/microscope`` (``~/.cache/...``). The cache holds at most
``max_bytes`` (``$CNN_EXPLORER_MICROSCOPE_CACHE_MB``, 200 MB by default); past that the
renders read least recently go first. A folder that cannot be written is not an error:
the render is returned, not kept, and ``put`` says so in a sentence.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

from explorer.inputs.png import picture_png, png_pixels
from explorer.runs.featurevis.render import Recipe, Rendered

ENV_FOLDER = "CNN_EXPLORER_MICROSCOPE_CACHE"
ENV_MEGABYTES = "CNN_EXPLORER_MICROSCOPE_CACHE_MB"
DEFAULT_MEGABYTES = 200
FORMAT = 1  # raise when the recipe's meaning changes, so old renders are not served for new recipes


def default_folder() -> Path:
    if os.environ.get(ENV_FOLDER):
        return Path(os.environ[ENV_FOLDER])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cnn-explorer" / "microscope"


def default_bytes() -> int:
    try:
        return int(float(os.environ.get(ENV_MEGABYTES, DEFAULT_MEGABYTES)) * 2**20)
    except ValueError:
        return DEFAULT_MEGABYTES * 2**20


RENDER_FILE = re.compile(r"[0-9a-f]{32}")  # what render_key gives: the start of every file the cache writes


def render_key(arch: str, weights: str, layer: str, channel: int, recipe: Recipe) -> str:
    """A file-name-safe digest of everything that decides the render (``weights`` names them or hashes a file)."""
    what = {"format": FORMAT, "arch": arch, "weights": weights, "layer": layer, "channel": channel,
            "recipe": recipe.key()}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:32]


class RenderCache:
    def __init__(self, folder: str | os.PathLike | None = None, max_bytes: int | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()
        self.max_bytes = default_bytes() if max_bytes is None else max_bytes

    def get(self, key: str) -> Rendered | None:
        record = self.folder / f"{key}.json"
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
            pictures = np.stack([png_pixels((self.folder / f"{key}.{i}.png").read_bytes())
                                 for i in range(data["pictures"])])
            os.utime(record)  # read now: the last to be evicted
        except (OSError, ValueError, KeyError):
            return None
        return Rendered(pictures, data["objective"], data["means"], data["activations"])

    def put(self, key: str, rendered: Rendered) -> str | None:
        """Keep ``rendered``; None when kept, else one sentence saying why not."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for i, picture in enumerate(rendered.pictures):
                self._write(self.folder / f"{key}.{i}.png", picture_png(picture))
            record = {"pictures": len(rendered.pictures), "objective": rendered.objective,
                      "means": rendered.means, "activations": rendered.activations}
            self._write(self.folder / f"{key}.json", json.dumps(record).encode())  # last: marks it complete
        except OSError as error:
            return (f"The render could not be kept in the cache folder {str(self.folder)!r} "
                    f"({error.strerror or error}); it is shown but will be made again next time.")
        self.evict()
        return None

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        partial = path.with_name(path.name + ".part")
        partial.write_bytes(data)
        partial.replace(path)  # a reader never sees half a file

    def evict(self) -> None:
        """Remove the least recently read renders until the folder is within ``max_bytes``."""
        renders: dict[str, list[Path]] = {}
        try:
            for path in self.folder.iterdir():
                key = path.name.split(".")[0]
                if RENDER_FILE.fullmatch(key):  # only the cache's own files: the folder may be shared
                    renders.setdefault(key, []).append(path)
            sizes = {key: sum(p.stat().st_size for p in paths) for key, paths in renders.items()}
        except OSError:  # another put renamed or evicted a file meanwhile: evict at the next put instead
            return
        used = sum(sizes.values())

        def last_read(key: str) -> float:
            record = self.folder / f"{key}.json"
            return record.stat().st_mtime if record.exists() else 0.0  # unfinished ones first

        for key in sorted(renders, key=last_read):
            if used <= self.max_bytes:
                break
            for path in renders[key]:
                path.unlink(missing_ok=True)
            used -= sizes[key]
