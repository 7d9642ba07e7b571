"""Named models on disk: find them cached, or download, check, convert and record them once.

Whatever the source, a model ends up as one ``.safetensors`` file that loads as
a PSRT-recurrent with every tensor accounted for: the Hub's file stays in the
standard Hugging Face cache, a mirror's or Drive's checkpoint is converted into
``<HF cache root>/vsr-cli/<model>/`` (beside the Hub cache, so ``HF_HOME`` and
``HF_HUB_CACHE`` move both). A small record beside it keeps where it came from
and its sha256, so later runs, and ``HF_HUB_OFFLINE=1``, make no request.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from filelock import FileLock
from huggingface_hub import constants

from vsr_cli.errors import CheckpointError, WeightsError
from vsr_cli.registry import ModelEntry, Registry
from vsr_cli.sources import HubSource, Progress, SourceFailed, SourceMissing, sources_for


@dataclass(frozen=True)
class StoredModel:
    """A model's weights on disk, and where they came from."""

    path: Path
    sha256: str
    source: str
    size: int


@dataclass(frozen=True)
class ModelListing:
    """A model of weights.toml, and whether (and from where) it is cached."""

    name: str
    default: bool
    description: str
    scale: int
    license: str
    cached: StoredModel | None


def listing(registry: Registry) -> list[ModelListing]:
    """Every model of ``registry``, looking only at the local cache (no network)."""
    return [
        ModelListing(
            e.name,
            e.name == registry.default,
            e.description,
            e.scale,
            e.license,
            stored(e, check=False),
        )
        for e in registry.models.values()
    ]


def store_dir(entry: ModelEntry) -> Path:
    return Path(constants.HF_HUB_CACHE).parent / "vsr-cli" / entry.name


def _record_file(entry: ModelEntry) -> Path:
    return store_dir(entry) / "record.json"


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _origin(entry: ModelEntry) -> dict[str, str]:
    """What a record must match to stand for ``entry``: a changed table entry (another
    revision, file or pin) means another download."""
    return {"repo_id": entry.repo_id, "revision": entry.revision, "filename": entry.filename}


def _recorded(entry: ModelEntry) -> StoredModel | None:
    try:
        record = json.loads(_record_file(entry).read_text(encoding="utf-8"))
        found = StoredModel(
            Path(record["path"]), record["sha256"], record["source"], record["size"]
        )
        current = record.get("entry") == _origin(entry)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    pinned = not entry.sha256 or found.sha256 == entry.sha256.lower()
    if current and pinned and found.path.is_file() and found.path.stat().st_size == found.size:
        return found
    return None


def _hub_cached(entry: ModelEntry) -> Path | None:
    if not entry.repo_id:
        return None
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(entry.repo_id, entry.filename, revision=entry.revision)
    except ValueError as e:  # a malformed repo_id in the table
        raise WeightsError(f"model {entry.name}: {e}") from None
    return Path(found) if isinstance(found, str) else None


def stored(entry: ModelEntry, check: bool = True) -> StoredModel | None:
    """The model's weights if a download completed before (no network). A Hub file seen
    for the first time is checked and recorded; ``check=False`` only looks (for listing)."""
    found = _recorded(entry)
    if found:
        return found
    hub_file = _hub_cached(entry)
    if hub_file is None:
        return None
    if not check:
        label = HubSource(entry).label
        return StoredModel(hub_file, "(not yet checked)", label, hub_file.stat().st_size)
    try:
        return _install(entry, hub_file, HubSource(entry).label)
    except SourceFailed:
        return None


def fetch(
    entry: ModelEntry,
    progress: Progress | None = None,
    on_source: Callable[[str], None] | None = None,
) -> StoredModel:
    """The model's verified weights, downloading them from the first source that delivers.
    One process at a time per model (shards started together on a fresh machine wait for
    the first download instead of writing the same files)."""
    found = stored(entry)
    if found:
        return found
    if offline():
        raise WeightsError(
            f"model {entry.name} is not cached and HF_HUB_OFFLINE is set: run "
            f"`vsr download {entry.name}` while online, or pass --weights PATH"
        )
    workdir = store_dir(entry)
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        with FileLock(workdir / ".lock"):
            return stored(entry) or _download(entry, workdir, progress, on_source)
    except OSError as e:
        raise WeightsError(f"cannot write the model cache {workdir}: {e.strerror or e}") from None


def install_file(entry: ModelEntry, path: Path) -> StoredModel:
    """``path`` (the authors' .pth, or a .safetensors) checked and stored as ``entry``'s
    weights, as if downloaded; ``path`` itself is left as it is."""
    workdir = store_dir(entry)
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        with FileLock(workdir / ".lock"):
            copy = workdir / f".from-file.{os.getpid()}{path.suffix}"
            shutil.copyfile(path, copy)
            return _install(entry, copy, f"local file {path.resolve()}")
    except FileNotFoundError:
        raise WeightsError(f"{path}: no such file") from None
    except SourceFailed as e:
        raise WeightsError(f"{path}: {e}") from None
    except OSError as e:
        raise WeightsError(f"cannot write the model cache {workdir}: {e.strerror or e}") from None


def _download(
    entry: ModelEntry,
    workdir: Path,
    progress: Progress | None,
    on_source: Callable[[str], None] | None,
) -> StoredModel:
    tried = []
    for source in sources_for(entry):
        if on_source:
            on_source(source.label)
        try:
            return _install(entry, source.fetch(workdir, progress), source.label)
        except (SourceMissing, SourceFailed) as e:
            tried.append(f"{source.label}: {e}")
    raise WeightsError(
        f"could not download model {entry.name} ({'; '.join(tried) or 'no source listed'}); "
        f"{entry.manual_hint}"
    )


def _install(entry: ModelEntry, download: Path, source: str) -> StoredModel:
    """Check that ``download`` is this model and record it; a mirror's or Drive's file is
    converted to safetensors first. A file that fails is deleted, never kept. The record
    is a convenience: where it can't be written (a read-only shared cache), the checked
    file is still used."""
    from vsr_cli.models.psrt import PSRTRecurrent  # torch: only once there is a file
    from vsr_cli.weights import read_checkpoint, shared_mode, write_safetensors

    in_hub_cache = Path(constants.HF_HUB_CACHE) in download.parents
    try:
        model = PSRTRecurrent.from_state_dict(read_checkpoint(download))  # strict
    except CheckpointError as e:
        _remove(download)
        raise SourceFailed(f"not usable weights ({e}); removed it") from None
    config = asdict(model.config)
    differences = [(k, v) for k, v in entry.network if _shown(config[k]) != _shown(v)]
    if differences:
        _remove(download)
        found = ", ".join(f"{k} {_shown(config[k])}" for k, _ in differences)
        declared = ", ".join(f"{k} {_shown(v)}" for k, v in differences)
        raise SourceFailed(
            f"not {entry.name}: a PSRT-recurrent with {found}, where weights.toml declares "
            f"{declared}"
        )
    if in_hub_cache:
        final = download
    else:
        final = store_dir(entry) / entry.filename
        write_safetensors(model, final, config)
        _remove(download)
    digest = sha256_of(final)
    if entry.sha256 and digest != entry.sha256.lower():
        _remove(final)
        raise SourceFailed(
            f"failed verification: expected sha256 {entry.sha256}, got {digest}; removed it"
        )
    found = StoredModel(final, digest, source, final.stat().st_size)
    record = asdict(found) | {"path": str(final), "entry": _origin(entry), "fetched": time.time()}
    with contextlib.suppress(OSError):
        _record_file(entry).parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=_record_file(entry).parent, suffix=".tmp", delete=False
        ) as partial:
            json.dump(record, partial)
        os.chmod(partial.name, shared_mode())
        os.replace(partial.name, _record_file(entry))
    return found


def _shown(value: object) -> str:
    """As weights.toml writes it (``[6, 6, 6]``), numbers as numbers (2 and 2.0 alike)."""
    if isinstance(value, tuple | list):
        return f"[{', '.join(map(_shown, value))}]"
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _remove(path: Path) -> None:
    """Delete a file, and the blob behind it when it is a Hub cache link."""
    blob = path.resolve()
    path.unlink(missing_ok=True)
    blob.unlink(missing_ok=True)
