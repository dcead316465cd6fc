"""A minimal Standard MIDI File (format 0) writer for note lists."""

import struct
from typing import Iterable, NamedTuple, Sequence, Tuple

TICKS_PER_SECOND = 960  # 480 ticks per quarter note at the default 120 bpm


class Note(NamedTuple):
    """One note on one channel; times in seconds from the start of the file."""

    start: float
    duration: float
    key: int
    velocity: int


def _variable_length(value: int) -> bytes:
    """MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def midi_file_bytes(notes: Iterable[Note], channel: int, program: int) -> bytes:
    """Encode notes played by one GM ``program`` on ``channel`` (0-15; 9 is percussion)."""
    return midi_parts_bytes([(0.0, channel, program)], ((channel, note) for note in notes))


def midi_parts_bytes(programs: Sequence[Tuple[float, int, int]],
                     notes: Iterable[Tuple[int, Note]],
                     silence_at: Sequence[float] = ()) -> bytes:
    """Encode ``(channel, note)`` pairs after ``(time, channel, program)`` program changes.

    Several channels can play at once, and a channel can change its instrument between
    notes. At each time of ``silence_at`` every channel gets "all sound off" (controller
    120), which also cuts the release of earlier notes. At equal times: all sound off, then
    program changes, then note-offs, then note-ons. A note on a channel that has had no
    program change yet is an error.
    """
    events = []  # (tick, order, status bytes)
    for time in silence_at:
        events += [(round(time * TICKS_PER_SECOND), -1, bytes([0xB0 | channel, 120, 0]))
                   for channel in range(16)]
    first_change = {}
    for time, channel, program in programs:
        if not 0 <= channel <= 15 or not 0 <= program <= 127 or time < 0:
            raise ValueError(f"program change {program} on channel {channel} at {time} s "
                             "out of range")
        tick = round(time * TICKS_PER_SECOND)
        first_change[channel] = min(tick, first_change.get(channel, tick))
        events.append((tick, 0, bytes([0xC0 | channel, program])))
    for channel, note in notes:
        if not (0 <= note.key <= 127 and 1 <= note.velocity <= 127 and note.duration > 0):
            raise ValueError(f"invalid note {note}")
        on = round(note.start * TICKS_PER_SECOND)
        off = round((note.start + note.duration) * TICKS_PER_SECOND)
        if channel not in first_change or first_change[channel] > on:
            raise ValueError(f"note {note} on channel {channel} before its program change")
        events.append((on, 2, bytes([0x90 | channel, note.key, note.velocity])))
        events.append((off, 1, bytes([0x80 | channel, note.key, 0])))
    events.sort(key=lambda event: (event[0], event[1]))
    track = b""
    now = 0
    for tick, _, message in events:
        track += _variable_length(tick - now) + message
        now = tick
    track += _variable_length(0) + b"\xff\x2f\x00"  # end of track
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_SECOND // 2)
    return header + b"MTrk" + struct.pack(">I", len(track)) + track
