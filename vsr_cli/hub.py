"""Named models: the ``weights.toml`` table, download from the Hugging Face Hub, verification.

Downloads go through ``hf_hub_download`` into the standard Hub cache, so
``HF_HOME``, ``HF_HUB_CACHE``, ``HF_ENDPOINT``, ``HF_TOKEN`` and
``HF_HUB_OFFLINE`` mean what every Hub user expects. Every failure becomes one
``WeightsError`` sentence that says what to do next.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

from huggingface_hub import hf_hub_download, try_to_load_from_cache
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from vsr_cli.errors import WeightsError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV_TABLE = "VSR_WEIGHTS_TOML"


@dataclass(frozen=True)
class ModelEntry:
    """One ``[models.NAME]`` table of weights.toml."""

    name: str
    description: str
    repo_id: str
    filename: str
    revision: str
    sha256: str = ""
    architecture: str = "psrt-recurrent"
    scale: int = 4
    training_data: str = ""
    degradation: str = ""
    license: str = ""
    source: str = ""
    paper: str = ""


@dataclass(frozen=True)
class Registry:
    default: str
    models: dict[str, ModelEntry]

    def get(self, name: str | None) -> ModelEntry:
        name = name or self.default
        if name not in self.models:
            raise WeightsError(f"unknown model {name!r}; known: {', '.join(self.models)}")
        return self.models[name]


def load_registry() -> Registry:
    """weights.toml from ``$VSR_WEIGHTS_TOML``, else the copy inside the package."""
    override = os.environ.get(ENV_TABLE)
    try:
        if override:
            text = Path(override).read_text(encoding="utf-8")
        else:
            text = resources.files("vsr_cli").joinpath("weights.toml").read_text(encoding="utf-8")
        table = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise WeightsError(
            f"cannot read the model table {override or 'weights.toml'}: {e}"
        ) from None
    known = {f.name for f in fields(ModelEntry)} - {"name"}
    models = {}
    for name, entry in table.get("models", {}).items():
        missing = {"description", "repo_id", "filename", "revision"} - entry.keys()
        if missing:
            raise WeightsError(f"model {name!r} in weights.toml lacks {', '.join(sorted(missing))}")
        models[name] = ModelEntry(name=name, **{k: v for k, v in entry.items() if k in known})
    default = table.get("default", next(iter(models), ""))
    if default not in models:
        raise WeightsError(f"weights.toml: default model {default!r} is not in its [models]")
    return Registry(default, models)


def cached_file(entry: ModelEntry) -> Path | None:
    """The cached weights of ``entry``, if a download has completed before."""
    found = try_to_load_from_cache(entry.repo_id, entry.filename, revision=entry.revision)
    return Path(found) if isinstance(found, str) else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(entry: ModelEntry, path: Path) -> None:
    """A mismatch removes the file from the cache, so the next run downloads it again."""
    if not entry.sha256:
        return
    actual = _sha256(path)
    if actual != entry.sha256.lower():
        blob = path.resolve()
        path.unlink(missing_ok=True)
        blob.unlink(missing_ok=True)
        raise WeightsError(
            f"{entry.filename} from {entry.repo_id} failed verification: expected sha256 "
            f"{entry.sha256}, got {actual}; removed it from the cache"
        )


def fetch(entry: ModelEntry) -> Path:
    """The verified local path of ``entry``'s weights, downloading on first use."""
    where = f"{entry.repo_id}@{entry.revision}"
    manual = (
        f"download the authors' file from {entry.source} and pass it with --weights PATH"
        if entry.source
        else "pass a local checkpoint with --weights PATH"
    )
    try:
        path = Path(
            hf_hub_download(
                entry.repo_id,
                entry.filename,
                revision=entry.revision,
                endpoint=os.environ.get("HF_ENDPOINT") or None,
            )
        )
    except GatedRepoError:
        raise WeightsError(
            f"{entry.repo_id} is gated: accept its terms on the Hub and set HF_TOKEN"
        ) from None
    except RepositoryNotFoundError:
        raise WeightsError(
            f"repository {entry.repo_id} not found on the Hub (or private: set HF_TOKEN); {manual}"
        ) from None
    except RevisionNotFoundError:
        raise WeightsError(
            f"revision {entry.revision} not found in {entry.repo_id}; {manual}"
        ) from None
    except RemoteEntryNotFoundError:
        raise WeightsError(f"{entry.filename} not found in {where}; {manual}") from None
    except (LocalEntryNotFoundError, OfflineModeIsEnabled):
        if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
            raise WeightsError(
                f"model {entry.name} is not cached and HF_HUB_OFFLINE is set: run "
                f"`vsr download {entry.name}` while online, or pass --weights PATH"
            ) from None
        raise WeightsError(
            f"could not reach the Hugging Face Hub for {where} (retried); check the network "
            f"or HF_ENDPOINT, run `vsr download {entry.name}` later, or pass --weights PATH"
        ) from None
    except HfHubHTTPError as e:
        status = e.response.status_code if e.response is not None else "?"
        hint = "; set HF_TOKEN" if status in (401, 403) else ""
        raise WeightsError(f"the Hub refused {where} (HTTP {status}){hint}") from None
    _verify(entry, path)
    return path
