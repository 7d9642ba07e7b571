"""One forward timeline for inputs whose timestamps may start again: MPEG-TS and MPEG-PS
recordings joined with ``cat``, or a recorder restarted mid-file.

Where a stream's decode timestamp jumps back, everything from there on (every stream)
is moved to follow what came before, as ffmpeg does for these containers; a jump
forward (a recorder paused for ten minutes) is a real gap and is kept.
"""

from __future__ import annotations

from fractions import Fraction

import av

from vsr_cli.context import RunContext
from vsr_cli.video.scan import JUMP_BACK

_DISCONTINUOUS = av.format.Flags.ts_discont.value


class Timeline:
    """Moves the packets of an input in place, as they are demuxed."""

    def __init__(self, container: av.container.InputContainer, context: RunContext) -> None:
        self._active = bool(container.format.flags & _DISCONTINUOUS)
        self._context = context
        self._shift = Fraction(0)  # seconds added to every packet from the last jump on
        self._ends: dict[int, Fraction] = {}  # each stream's last packet's end, moved

    def place(self, packet: av.Packet) -> None:
        """Shift ``packet`` onto the timeline (a no-op for most containers)."""
        base = packet.time_base
        if not self._active or packet.dts is None or not base:
            return
        at = packet.dts * base + self._shift
        end = self._ends.get(packet.stream.index)
        if end is not None and at < end - Fraction(JUMP_BACK):
            self._context.warn(
                f"timestamps start again at {float(at):.3f} s (joined recordings?): "
                f"what follows is moved after {float(end):.3f} s, as ffmpeg does"
            )
            self._shift += end - at
            at = end
        if self._shift:
            ticks = round(self._shift / base)
            packet.dts += ticks
            if packet.pts is not None:
                packet.pts += ticks
        self._ends[packet.stream.index] = at + (packet.duration or 0) * base
