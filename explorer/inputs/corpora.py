"""Corpora of pictures to search for the ones that excite a unit most: digit scans, samples, a folder, Imagenette.

Every picture is kept as its encoded bytes with a source label, so it takes the
same path through ``explorer.inputs.images`` as an upload, with the same checks.

- ``scans()``: scikit-learn's 1,797 digit scans, for the digit-trained networks.
- ``samples()``: the photos bundled with the app (``explorer.inputs.samples``).
- ``folder(path)``: every picture file directly in a folder; one file that fails the
  upload checks refuses the whole folder with a sentence naming it.
- ``imagenette(root, progress)``: Imagenette's 3,925 validation pictures at 160 pixels
  (fast.ai's ImageNet subset, read by ``torchvision.datasets.Imagenette``), downloaded
  only when this function is called, with a progress callback.
"""

from __future__ import annotations

import os
import tarfile
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from explorer.core.errors import UserError
from explorer.core.limits import UPLOAD_BYTES
from explorer.inputs import images
from explorer.inputs.scans import scan_png, scan_split
from explorer.inputs.samples import PHOTOS, sample_bytes

_DOWNLOADING = threading.Lock()
PICTURE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")
MAX_FOLDER_PICTURES = 5000
IMAGENETTE_URL = "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz"  # torchvision's own address
IMAGENETTE_FOLDER = "imagenette2-160"
ENV_DATA = "CNN_EXPLORER_DATA"  # where downloaded corpora go (default ~/.cache/cnn-explorer/datasets)


def data_folder() -> Path:
    if os.environ.get(ENV_DATA):
        return Path(os.environ[ENV_DATA])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cnn-explorer" / "datasets"


@dataclass(frozen=True)
class Picture:
    source: str  # where it came from, in words a person recognises ("scan 17 (a 7)", "cat.jpg")
    data: bytes  # the encoded file


@dataclass(frozen=True)
class Corpus:
    name: str
    pictures: tuple[Picture, ...]


def scans() -> Corpus:
    split = scan_split()
    return Corpus("the 1,797 digit scans", tuple(
        Picture(f"scan {i} (a {label})", scan_png(scan))
        for i, (scan, label) in enumerate(zip(split["scans"], split["labels"]))
    ))


def samples() -> Corpus:
    return Corpus("the bundled sample photos", tuple(Picture(s.label, sample_bytes(s.key)) for s in PHOTOS))


def folder(path: str | os.PathLike, name: str | None = None) -> Corpus:
    """Every picture file directly inside ``path``, each checked as an upload is."""
    root = Path(path)
    if not root.is_dir():
        raise UserError(f"{str(path)[:80]!r} is not a folder of pictures.")
    found = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if not entry.name.lower().endswith(PICTURE_SUFFIXES) or not entry.is_file(follow_symlinks=False):
            continue  # other files, sub-folders and links are not read at all
        if len(found) == MAX_FOLDER_PICTURES:
            raise UserError(f"The folder holds more than {MAX_FOLDER_PICTURES:,} pictures; choose a smaller one.")
        if entry.stat(follow_symlinks=False).st_size > UPLOAD_BYTES:
            raise UserError(f"{entry.name[:80]!r} in the corpus folder is larger than an upload may be.")
        with open(entry.path, "rb") as file:
            data = file.read()
        try:
            images.load_image(data)
        except UserError as error:
            raise UserError(f"{entry.name[:80]!r} in the corpus folder was refused: {error}") from None
        found.append(Picture(entry.name, data))
    if not found:
        raise UserError(f"The folder {str(path)[:80]!r} holds no pictures (JPEG, PNG, WebP, BMP or GIF files).")
    return Corpus(name or f"the pictures in {root.name}", tuple(found))


def _download(url: str, target: Path, progress: Callable[[int, int | None], None] | None) -> None:
    partial = target.with_suffix(".part")
    with urllib.request.urlopen(url, timeout=30) as response, open(partial, "wb") as file:
        total = int(response.headers.get("Content-Length") or 0) or None
        done = 0
        while chunk := response.read(1 << 20):
            file.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    partial.replace(target)


def imagenette(root: str | os.PathLike, progress: Callable[[int, int | None], None] | None = None,
               url: str | None = None) -> Corpus:
    """Imagenette's validation pictures (160 px) under ``root``, downloading them (about 100 MB) if absent."""
    from torchvision.datasets import Imagenette

    url = url or IMAGENETTE_URL
    root = Path(root)
    # One download at a time per server: two students pressing the button together would write the same file.
    with _DOWNLOADING:
        if not (root / IMAGENETTE_FOLDER / "val").is_dir():
            archive = root / "imagenette2-160.tgz"
            try:
                root.mkdir(parents=True, exist_ok=True)
                _download(url, archive, progress)
                with tarfile.open(archive) as tar:
                    tar.extractall(root, filter="data")  # "data": no links out, no absolute paths
                archive.unlink()
            except (OSError, tarfile.TarError, ValueError) as error:
                raise UserError(f"Imagenette could not be downloaded from {url} ({error}); check the connection "
                                "or point to a folder of pictures instead.") from None
    dataset = Imagenette(str(root), split="val", size="160px", download=False)
    names = {wnid: labels[0] for wnid, labels in zip(dataset.wnids, dataset.classes)}
    return Corpus("Imagenette's validation pictures", tuple(
        Picture(f"{Path(path).name} ({names.get(Path(path).parent.name, 'imagenette')})", Path(path).read_bytes())
        for path, _ in dataset._samples
    ))
