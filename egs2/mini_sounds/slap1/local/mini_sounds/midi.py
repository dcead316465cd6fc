"""A minimal Standard MIDI File (format 0) writer for note lists."""

import struct
from typing import Iterable, NamedTuple

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
    if not 0 <= channel <= 15 or not 0 <= program <= 127:
        raise ValueError(f"channel {channel} / program {program} out of range")
    events = []  # (tick, order, status bytes); note-offs sort before note-ons at equal ticks
    for note in notes:
        if not (0 <= note.key <= 127 and 1 <= note.velocity <= 127 and note.duration > 0):
            raise ValueError(f"invalid note {note}")
        on = round(note.start * TICKS_PER_SECOND)
        off = round((note.start + note.duration) * TICKS_PER_SECOND)
        events.append((on, 1, bytes([0x90 | channel, note.key, note.velocity])))
        events.append((off, 0, bytes([0x80 | channel, note.key, 0])))
    events.sort(key=lambda event: (event[0], event[1]))
    track = _variable_length(0) + bytes([0xC0 | channel, program])
    now = 0
    for tick, _, message in events:
        track += _variable_length(tick - now) + message
        now = tick
    track += _variable_length(0) + b"\xff\x2f\x00"  # end of track
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_SECOND // 2)
    return header + b"MTrk" + struct.pack(">I", len(track)) + track
