"""Text subtitles rewritten for a container that refuses their own format: SubRip, mov_text,
WebVTT and ASS/SSA text (styling dropped), the payload of one packet at a time."""

from __future__ import annotations

import html
import re

TEXT_SUBTITLES = {"subrip", "srt", "mov_text", "text", "ass", "ssa", "webvtt"}
TARGETS = ("mov_text", "subrip")  # what MP4 and Matroska take, in the order tried


def targets_for(codec: str) -> list[str]:
    """The formats a ``codec`` text subtitle can be rewritten into (none for bitmaps)."""
    return [t for t in TARGETS if t != codec] if codec in TEXT_SUBTITLES else []


def convert(payload: bytes, codec: str, target: str) -> bytes | None:
    """One packet's text from ``codec`` into ``target``; None when it holds no text."""
    text = _text_of(payload, codec)
    if not text.strip():
        return None
    if target == "mov_text":
        data = re.sub(r"</?[A-Za-z][^>]*>", "", text).encode("utf-8")  # no inline tags
        return len(data).to_bytes(2, "big") + data
    return text.encode("utf-8")


def _text_of(payload: bytes, codec: str) -> str:
    if codec == "mov_text":  # 16-bit big-endian length, then UTF-8 text, then style boxes
        size = int.from_bytes(payload[:2], "big")
        return payload[2 : 2 + size].decode("utf-8", "replace")
    text = payload.decode("utf-8", "replace")
    if codec == "webvtt":  # cue text: HTML-like tags and entities; SubRip knows <i> <b> <u>
        text = re.sub(r"<(?!/?[ibu]>)[^>]*>", "", text)
        text = html.unescape(text)
    if codec in ("ass", "ssa"):  # ReadOrder, Layer, Style, Name, margins, Effect, then Text
        text = text.split(",", 8)[-1]
        text = re.sub(r"\{[^}]*\}", "", text)  # override tags: {\i1}, {\pos(...)}
        text = text.replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ")
    return text
