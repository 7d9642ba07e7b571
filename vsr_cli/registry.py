"""The model table, ``weights.toml``: each named model and the places its weights can come from.

Scripts read and write this table, so its keys are an interface: ``repo_id``,
``filename``, ``revision``, ``sha256`` (of the ``.safetensors`` file vsr-cli
stores), ``mirrors`` (URLs of the same checkpoint), ``drive_id``,
``drive_folder`` and ``drive_name`` (the authors' Google Drive), and ``network`` (the
hyper-parameters a checkpoint must have to be this model).
``VSR_WEIGHTS_TOML`` points vsr-cli at another table of the same form.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

from vsr_cli.errors import WeightsError

ENV_TABLE = "VSR_WEIGHTS_TOML"
# What ``network`` may declare: PSRTConfig's fields, which a checkpoint's shapes tell.
NETWORK_KEYS = {
    "mid_channels",
    "embed_dim",
    "depths",
    "num_heads",
    "window_size",
    "mlp_ratio",
}


@dataclass(frozen=True)
class ModelEntry:
    """One ``[models.NAME]`` table of weights.toml."""

    name: str
    description: str
    repo_id: str
    filename: str
    revision: str
    sha256: str = ""
    mirrors: tuple[str, ...] = ()
    drive_id: str = ""
    drive_folder: str = ""
    drive_name: str = ""
    architecture: str = "psrt-recurrent"
    scale: int = 4
    training_data: str = ""
    degradation: str = ""
    license: str = ""
    source: str = ""
    paper: str = ""
    # (key, value) of the network's hyper-parameters (lists as tuples); () checks none
    network: tuple[tuple[str, object], ...] = ()

    @property
    def manual_hint(self) -> str:
        """What a user can do when no source delivers."""
        where = f" from {self.source}" if self.source else ""
        name = f" ({self.drive_name})" if self.drive_name else ""
        return (
            f"download the authors' file{name}{where}, then `vsr download {self.name} --from "
            "FILE` puts it in the cache (or pass it to vsr-upscale with --weights FILE)"
        )


@dataclass(frozen=True)
class Registry:
    default: str
    models: dict[str, ModelEntry]

    def get(self, name: str | None) -> ModelEntry:
        name = name or self.default
        if name not in self.models:
            raise WeightsError(f"unknown model {name!r}; known: {', '.join(self.models)}")
        return self.models[name]


def _entry(name: str, table: dict) -> ModelEntry:
    missing = {"description", "repo_id", "filename", "revision"} - table.keys()
    if missing:
        raise WeightsError(f"model {name!r} in weights.toml lacks {', '.join(sorted(missing))}")
    mirrors = table.get("mirrors", [])
    if not isinstance(mirrors, list) or not all(
        isinstance(url, str) and url.startswith(("https://", "http://")) for url in mirrors
    ):
        raise WeightsError(f"model {name!r} in weights.toml: mirrors must be a list of URLs")
    known = {f.name for f in fields(ModelEntry)} - {"name", "mirrors", "network"}
    unknown = sorted(set(table) - known - {"mirrors", "network"})
    if unknown:  # a misspelt source key would otherwise be a source silently never tried
        raise WeightsError(f"model {name!r} in weights.toml: unknown key(s) {', '.join(unknown)}")
    text = [k for k in known - {"scale"} if k in table and not isinstance(table[k], str)]
    if text:
        raise WeightsError(f"model {name!r} in weights.toml: {', '.join(text)} must be text")
    return ModelEntry(
        name=name,
        mirrors=tuple(mirrors),
        network=_network(name, table.get("network", {})),
        **{k: v for k, v in table.items() if k in known},
    )


def _network(name: str, table: object) -> tuple[tuple[str, object], ...]:
    if not isinstance(table, dict) or not set(table) <= NETWORK_KEYS:
        raise WeightsError(
            f"model {name!r} in weights.toml: network takes {', '.join(sorted(NETWORK_KEYS))}"
        )
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(table.items()))


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
    models = {name: _entry(name, entry) for name, entry in table.get("models", {}).items()}
    default = table.get("default", next(iter(models), ""))
    if default not in models:
        raise WeightsError(f"weights.toml: default model {default!r} is not in its [models]")
    return Registry(default, models)
