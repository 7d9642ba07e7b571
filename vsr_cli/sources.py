"""The places a model's weights can be downloaded from, tried in the order weights.toml gives.

The Hugging Face Hub first, then mirror URLs, then the authors' Google Drive
(through gdown, which handles Drive's confirmation pages and folder listings).
A source that answers that it has no such file raises :class:`SourceMissing` at
once (HTTP 404, no such repository or revision), one that cannot deliver raises
:class:`SourceFailed` (network, refusal, quota; Drive reports a deleted file this
way too); either way the caller moves on to the next after one try, and reports
every reason if none delivers. The HTTP clients load when a download begins: listing
models and checking settings never pay for them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from vsr_cli.registry import ModelEntry

Progress = Callable[[int, int | None], None]  # bytes so far, total if known
CONNECT_TIMEOUT = 10.0  # seconds; a source that does not answer is skipped, not retried
READ_TIMEOUT = 60.0


class SourceMissing(Exception):
    """The source answered that it does not have the file."""


class SourceFailed(Exception):
    """The source could not deliver the file (network, refusal, quota)."""


class Source(Protocol):
    label: str

    def fetch(self, workdir: Path, progress: Progress | None) -> Path:
        """Download into ``workdir`` (or the source's own cache) and return the file."""
        ...


class HubSource:
    """A file of a Hub repository, into the standard Hugging Face cache."""

    def __init__(self, entry: ModelEntry) -> None:
        self.entry = entry
        self.label = f"Hugging Face Hub {entry.repo_id}@{entry.revision}"

    def fetch(self, workdir: Path, progress: Progress | None) -> Path:
        from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
        from huggingface_hub.errors import (
            GatedRepoError,
            HfHubHTTPError,
            RemoteEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        entry, endpoint = self.entry, os.environ.get("HF_ENDPOINT") or None
        url = hf_hub_url(entry.repo_id, entry.filename, revision=entry.revision, endpoint=endpoint)
        try:
            # One request without retries: hf_hub_download alone retries an unreachable
            # or missing Hub for ~20 s before the next source could be tried.
            get_hf_file_metadata(url, timeout=CONNECT_TIMEOUT)
            if progress is not None:
                progress(0, None)  # the Hub has the file: its own bar shows the bytes
            return Path(
                hf_hub_download(
                    entry.repo_id, entry.filename, revision=entry.revision, endpoint=endpoint
                )
            )
        except GatedRepoError:
            raise SourceFailed("gated: accept its terms on the Hub and set HF_TOKEN") from None
        except RepositoryNotFoundError:
            raise SourceMissing("no such repository (or private: set HF_TOKEN)") from None
        except RevisionNotFoundError:
            raise SourceMissing(f"no revision {entry.revision}") from None
        except RemoteEntryNotFoundError:
            raise SourceMissing(f"no file {entry.filename}") from None
        except HfHubHTTPError as e:
            status = e.response.status_code if e.response is not None else "?"
            raise SourceFailed(f"refused (HTTP {status})") from None
        except Exception as e:  # the HTTP client's own connection and timeout errors
            raise SourceFailed(f"unreachable: {_reason(e)}") from None


class UrlSource:
    """A plain HTTP(S) URL of the checkpoint: an organisation's or a test's own copy."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.label = url

    def fetch(self, workdir: Path, progress: Progress | None) -> Path:
        return _gdown(workdir, progress, url=self.url)


class DriveSource:
    """The authors' Google Drive: a file id, else (or if that id fails) the file's name in
    their public folder, since a re-uploaded file keeps its name but not its id."""

    def __init__(self, entry: ModelEntry) -> None:
        self.entry = entry
        where = [f"file {entry.drive_id}"] if entry.drive_id else []
        if entry.drive_folder and entry.drive_name:
            where.append(f"folder {entry.drive_folder} ({entry.drive_name})")
        self.label = "Google Drive " + ", then ".join(where)

    def _listed_id(self) -> str:
        import gdown
        import requests
        from gdown.exceptions import DownloadError

        try:
            listing = gdown.download_folder(
                id=self.entry.drive_folder,
                skip_download=True,
                quiet=True,
                use_cookies=False,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            )
        except (DownloadError, requests.RequestException) as e:
            raise SourceFailed(f"cannot list the folder: {_reason(e)}") from None
        for item in listing or []:
            if Path(item.path).name == self.entry.drive_name:
                return item.id
        raise SourceMissing(f"no {self.entry.drive_name} in the folder")

    def fetch(self, workdir: Path, progress: Progress | None) -> Path:
        entry = self.entry
        if not entry.drive_id:
            return _gdown(workdir, progress, id=self._listed_id())
        try:
            return _gdown(workdir, progress, id=entry.drive_id)
        except (SourceMissing, SourceFailed) as first:
            if not (entry.drive_folder and entry.drive_name):
                raise
            listed = self._listed_id()
            if listed == entry.drive_id:
                raise first from None
            return _gdown(workdir, progress, id=listed)


def _gdown(workdir: Path, progress: Progress | None, **what: str) -> Path:
    """Download with gdown into a name of this file's own (its URL or Drive id), so a
    partial file (gdown keeps it as ``*.part`` beside the target) is resumed only from
    the same file."""
    import gdown
    import requests
    from gdown.exceptions import DownloadError

    key = what.get("url") or what["id"]
    target = workdir / f"download-{hashlib.sha1(key.encode()).hexdigest()[:10]}"
    try:
        gdown.download(
            output=str(target),
            quiet=True,
            resume=True,
            progress=progress,
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            use_cookies=False,
            **what,
        )
    except requests.HTTPError as e:
        status = e.response.status_code if e.response is not None else None
        if status in (404, 410):
            raise SourceMissing(f"HTTP {status}") from None
        raise SourceFailed(_reason(e)) from None
    except (DownloadError, requests.RequestException, OSError) as e:
        raise SourceFailed(_reason(e)) from None
    return target


# Drive's refusals, as gdown words them, and the part of each a user needs.
_DRIVE_REASONS = {
    "Too many users have viewed or downloaded": "quota exceeded: too many downloads recently, "
    "try again within 24 h",
    "Cannot retrieve the public link": "the file is not public any more, or was moved",
}


# Network failures, as the HTTP clients word them deep in their messages, in a few words.
_NETWORK_REASONS = {
    "Connection refused": "connection refused",
    "Name or service not known": "no network (the name does not resolve)",
    "Temporary failure in name resolution": "no network (the name does not resolve)",
    "NameResolutionError": "no network (the name does not resolve)",
    "nodename nor servname": "no network (the name does not resolve)",
    "Network is unreachable": "no network",
    "No route to host": "no route to the host",
    "timed out": "timed out",
    "Timeout": "timed out",
    "CERTIFICATE_VERIFY_FAILED": "its TLS certificate is not trusted here",
    "Connection reset": "the connection was reset",
}


def _reason(error: BaseException) -> str:
    """A few words from an error's message: each source's reason goes into a one-line
    report, so the HTTP client's nested retries and addresses are left out."""
    text = str(error).strip()
    for marker, reason in (_DRIVE_REASONS | _NETWORK_REASONS).items():
        if marker in text:
            return reason
    line = text.splitlines()[0] if text else type(error).__name__
    if len(line) <= 80:
        return line
    cut = line.rfind(" ", 0, 78)
    return line[: cut if cut > 0 else 77] + " ..."


def sources_for(entry: ModelEntry) -> list[Source]:
    """Hub, mirrors, Drive: the order a download tries them in."""
    found: list[Source] = [HubSource(entry)] if entry.repo_id else []
    found += [UrlSource(url) for url in entry.mirrors]
    if entry.drive_id or (entry.drive_folder and entry.drive_name):
        found.append(DriveSource(entry))
    return found
