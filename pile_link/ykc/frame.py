"""YKC v1.6 framing: one frame to and from bytes, and a stream decoder for a TCP byte stream.

# YKC v1.6 §3.1: 0x68 | length (1) | seq (2, LE) | encryption flag (1) | frame type (1) |
# body (N) | CRC (2). length counts seq + flag + type + body; the CRC covers the same bytes
# and is sent low byte first. We send low byte first and accept either order on input.
"""

from __future__ import annotations

import dataclasses
from collections import deque

from pile_link.ykc.crc import crc16_modbus

START_BYTE = 0x68
# seq (2) + encryption flag (1) + frame type (1): anything shorter cannot be a frame
MIN_DATA_LENGTH = 4
# §3.1 says the data field stays within 200 bytes, but its own offline-card frames can
# exceed that (15 cards in §8.11 need 252): accept anything one length byte can say.
MAX_DATA_LENGTH = 255
MAX_FRAME_SIZE = 2 + MAX_DATA_LENGTH + 2

ENCRYPTION_NONE = 0x00
ENCRYPTION_3DES = 0x01  # §3.1; no key exchange is specified, so bodies stay opaque


class FrameError(ValueError):
    """A byte string is not one valid frame (used by :func:`parse_frame`)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclasses.dataclass(frozen=True, slots=True)
class Frame:
    """One YKC frame. ``body`` is the message body (the spec's 消息体), still encoded."""

    seq: int
    frame_type: int
    body: bytes
    encrypted: int = ENCRYPTION_NONE
    # True when the CRC arrived high byte first: accepted, worth a log line, never
    # part of equality.
    crc_high_first: bool = dataclasses.field(default=False, compare=False)

    def encode(self) -> bytes:
        """The frame on the wire, CRC low byte first."""
        if not 0 <= self.seq <= 0xFFFF:
            raise FrameError("bad_seq", f"sequence number {self.seq} is not 0..65535")
        if not 0 <= self.frame_type <= 0xFF or not 0 <= self.encrypted <= 0xFF:
            raise FrameError("bad_header", "frame type and encryption flag are one byte each")
        data = (
            self.seq.to_bytes(2, "little")
            + bytes([self.encrypted, self.frame_type])
            + bytes(self.body)
        )
        if len(data) > MAX_DATA_LENGTH:
            raise FrameError("bad_length", f"body of {len(self.body)} bytes does not fit")
        crc = crc16_modbus(data)
        return bytes([START_BYTE, len(data)]) + data + crc.to_bytes(2, "little")


@dataclasses.dataclass(frozen=True, slots=True)
class FrameIssue:
    """Something the stream decoder threw away, and why.

    ``kind`` is ``"garbage"`` (bytes before a start byte), ``"bad_length"`` (a length
    byte below 4) or ``"bad_crc"``; ``data`` holds the bytes concerned (at most one frame).
    """

    kind: str
    detail: str
    data: bytes = b""


def _check_crc(data: bytes | bytearray, crc_bytes: bytes | bytearray) -> bool | None:
    """``False`` low byte first, ``True`` high byte first, ``None`` when it does not match."""
    crc = crc16_modbus(data)
    if crc_bytes[0] == crc & 0xFF and crc_bytes[1] == crc >> 8:
        return False
    if crc_bytes[0] == crc >> 8 and crc_bytes[1] == crc & 0xFF:
        return True
    return None


def _frame_from(data: bytes | bytearray, crc_high_first: bool) -> Frame:
    return Frame(
        seq=data[0] | data[1] << 8,
        encrypted=data[2],
        frame_type=data[3],
        body=bytes(data[4:]),
        crc_high_first=crc_high_first,
    )


def parse_frame(raw: bytes, *, verify_crc: bool = True) -> Frame:
    """Parse exactly one complete frame; raise :class:`FrameError` otherwise.

    ``verify_crc=False`` reads a frame whose CRC is wrong (the spec's own samples mostly
    are); the stream decoder always checks.
    """
    if len(raw) < 2 + MIN_DATA_LENGTH + 2:
        raise FrameError("short", f"{len(raw)} bytes cannot hold a frame")
    if raw[0] != START_BYTE:
        raise FrameError("bad_start", f"starts with 0x{raw[0]:02X}, not 0x68")
    length = raw[1]
    if length < MIN_DATA_LENGTH:
        raise FrameError("bad_length", f"length byte {length} is below {MIN_DATA_LENGTH}")
    if len(raw) != 2 + length + 2:
        raise FrameError(
            "bad_length", f"length byte says {length} data bytes, frame has {len(raw) - 4}"
        )
    data = raw[2 : 2 + length]
    high_first = _check_crc(data, raw[-2:])
    if high_first is None:
        if verify_crc:
            crc = crc16_modbus(data)
            raise FrameError(
                "bad_crc", f"CRC {raw[-2:].hex().upper()} does not match computed {crc:04X}"
            )
        high_first = False
    return _frame_from(data, high_first)


class FrameDecoder:
    """Sans-IO stream decoder: feed it whatever the socket gave, get whole frames back.

    It buffers a partial frame across calls, skips garbage to the next 0x68, drops frames
    with an impossible length or a bad CRC (then resynchronises one byte after the bad
    start byte, so a real frame hidden inside is still found) and never raises on input
    bytes. What it dropped is kept as :class:`FrameIssue` for the caller to log; call
    :meth:`take_issues` after each :meth:`feed`. The buffer never holds more than one
    partial frame (< ``MAX_FRAME_SIZE`` bytes).
    """

    # one per held connection: no instance dict, no issue deque until there is an issue,
    # no buffer while no partial frame waits (an idle pile's decoder is ~100 bytes)
    __slots__ = (
        "_buf",
        "_issues",
        "_max_issues",
        "bytes_discarded",
        "crc_errors",
        "frames_decoded",
    )

    def __init__(self, *, max_issues: int = 64) -> None:
        self._buf = bytearray()
        self._issues: deque[FrameIssue] | None = None
        self._max_issues = max_issues
        self.frames_decoded = 0
        self.bytes_discarded = 0
        self.crc_errors = 0

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def take_issues(self) -> list[FrameIssue]:
        """Issues since the last call (only the latest ``max_issues`` are kept)."""
        if not self._issues:
            return []
        issues = list(self._issues)
        self._issues = None
        return issues

    def _discard(self, kind: str, detail: str, data: bytes | bytearray) -> None:
        if self._issues is None:
            self._issues = deque(maxlen=self._max_issues)
        self._issues.append(FrameIssue(kind, detail, bytes(data[:MAX_FRAME_SIZE])))
        if kind == "bad_crc":
            self.crc_errors += 1

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Add received bytes; return the frames now complete, in order."""
        buf = self._buf
        buf += data
        frames: list[Frame] = []
        pos = 0
        end_of_data = len(buf)
        garbage_from: int | None = None
        while pos < end_of_data:
            start = buf.find(START_BYTE, pos)
            if start < 0:
                start = end_of_data
            if start > pos:
                if garbage_from is None:
                    garbage_from = pos
                pos = start
                continue
            # buf[pos] is a start byte; report the garbage run that preceded it
            if garbage_from is not None:
                self._garbage(buf[garbage_from:pos])
                garbage_from = None
            if end_of_data - pos < 2:
                break  # wait for the length byte
            length = buf[pos + 1]
            if length < MIN_DATA_LENGTH:
                self._discard("bad_length", f"length byte {length}", buf[pos : pos + 2])
                self.bytes_discarded += 1
                pos += 1
                continue
            frame_end = pos + 2 + length + 2
            if frame_end > end_of_data:
                break  # wait for the rest of the frame
            payload = buf[pos + 2 : frame_end - 2]
            high_first = _check_crc(payload, buf[frame_end - 2 : frame_end])
            if high_first is None:
                self._discard("bad_crc", f"frame type 0x{buf[pos + 5]:02X}", buf[pos:frame_end])
                self.bytes_discarded += 1
                pos += 1
                continue
            frames.append(_frame_from(payload, high_first))
            self.frames_decoded += 1
            pos = frame_end
        if garbage_from is not None:
            self._garbage(buf[garbage_from:pos])
        if pos >= len(buf):
            self._buf = bytearray()  # an empty one holds no storage: the old one's goes
        else:
            del buf[:pos]
        return frames

    def _garbage(self, data: bytes | bytearray) -> None:
        self.bytes_discarded += len(data)
        self._discard("garbage", f"{len(data)} byte(s) before a start byte", data)
