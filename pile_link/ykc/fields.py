"""Field codecs for YKC v1.6 message bodies and the engine that walks a message's fields.

A message body is a dataclass whose fields carry their wire codec in ``Annotated`` metadata
(``pile_code: Annotated[str, Bcd(7)]``); :func:`decode_struct` and :func:`encode_struct`
read and write those fields in declaration order. Decoding is total over bytes wherever
the wire allows it (BCD kept as hex text, bad timestamps become ``None``), so a pile's
odd value never costs a record. Sections (§) are YKC v1.6's.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

# Piles speak local time (YKC v1.6 §3.2 CP56Time2a carries no zone). China has kept
# UTC+8 without DST since 1991, so a fixed offset is exact for every CP56 year (2000-2127)
# and needs no tz database. Pass a station's own tz where it differs.
PILE_TZ: tzinfo = timezone(timedelta(hours=8), "Asia/Shanghai")

_HEX_DIGITS = frozenset("0123456789ABCDEF")


class FieldDecodeError(ValueError):
    """The body is too short, or a field cannot be read."""


class FieldEncodeError(ValueError):
    """A value does not fit its wire field."""


@dataclasses.dataclass(frozen=True, slots=True)
class Context:
    """What a codec needs besides the bytes: the pile's time zone."""

    tz: tzinfo = PILE_TZ


# --- standalone helpers -------------------------------------------------------------------


def bcd_decode(data: bytes) -> str:
    """BCD bytes -> digit text, two digits a byte, high nibble first (§3.2).

    Nibbles above 9 come out as ``A``-``F`` instead of failing: a pile code or serial with a
    stray nibble still decodes and re-encodes to the same bytes.
    """
    return data.hex().upper()


def bcd_encode(digits: str, size: int) -> bytes:
    """Digit text -> ``size`` BCD bytes, left-padded with zeros ("不足7位补0", §6.1)."""
    text = digits.upper()
    if len(text) > size * 2:
        raise FieldEncodeError(f"{digits!r} has more than {size * 2} digits")
    if not set(text) <= _HEX_DIGITS:
        raise FieldEncodeError(f"{digits!r} is not BCD digit text")
    return bytes.fromhex(text.rjust(size * 2, "0"))


def uint_decode(data: bytes) -> int:
    """Unsigned little-endian integer ("BIN码均为低位在前高位在后", §3.2)."""
    return int.from_bytes(data, "little")


def uint_encode(value: int, size: int) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldEncodeError(f"{value!r} is not an int")
    if not 0 <= value < 1 << (8 * size):
        raise FieldEncodeError(f"{value} does not fit in {size} unsigned byte(s)")
    return value.to_bytes(size, "little")


def cp56_decode(data: bytes, tz: tzinfo = PILE_TZ) -> datetime | None:
    """CP56Time2a (§3.2) -> aware datetime in ``tz``, or ``None`` when not a valid time.

    Layout: milliseconds incl. seconds (2 bytes LE), minutes (D5-D0, D7 = IV), hours
    (D4-D0, D7 = SU), day of month (D4-D0, D7-D5 = day of week), month (D3-D0),
    years since 2000 (D6-D0). Flag and reserved bits are ignored. All-zero and other
    impossible times (an unset pile clock) decode to ``None`` rather than failing.
    """
    if len(data) != 7:
        raise FieldDecodeError(f"CP56Time2a needs 7 bytes, got {len(data)}")
    millis = data[0] | data[1] << 8
    minute = data[2] & 0x3F
    hour = data[3] & 0x1F
    day = data[4] & 0x1F
    month = data[5] & 0x0F
    year = 2000 + (data[6] & 0x7F)
    if millis >= 60000 or minute >= 60 or hour >= 24:
        return None
    try:
        return datetime(
            year, month, day, hour, minute, millis // 1000, (millis % 1000) * 1000, tzinfo=tz
        )
    except ValueError:
        return None


def cp56_encode(value: datetime, tz: tzinfo = PILE_TZ, *, weekday: bool = False) -> bytes:
    """Aware datetime -> CP56Time2a in the pile's local time ``tz`` (ms precision).

    The day-of-week bits are left 0 as in every sample of the spec; ``weekday=True`` sets
    them (1 = Monday ... 7 = Sunday, IEC 60870-5-4).
    """
    if not isinstance(value, datetime):
        raise FieldEncodeError(f"{value!r} is not a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise FieldEncodeError("CP56Time2a needs an aware datetime")
    local = value.astimezone(tz)
    if not 2000 <= local.year <= 2127:
        raise FieldEncodeError(f"year {local.year} is outside CP56Time2a's 2000-2127")
    millis = local.second * 1000 + local.microsecond // 1000
    day = local.day | ((local.isoweekday() << 5) if weekday else 0)
    return bytes(
        [
            millis & 0xFF,
            millis >> 8,
            local.minute,
            local.hour,
            day,
            local.month,
            local.year - 2000,
        ]
    )


# --- codecs -------------------------------------------------------------------------------


class Codec:
    """One wire field: decode from a position in a body, encode to bytes."""

    def fixed_size(self) -> int | None:
        """Bytes this field always takes, or ``None`` when it varies."""
        return None

    def decode(self, buf: bytes, pos: int, ctx: Context) -> tuple[Any, int]:
        raise NotImplementedError

    def encode(self, value: Any, ctx: Context) -> bytes:
        raise NotImplementedError


class FixedCodec(Codec):
    size: int

    def __init__(self, size: int) -> None:
        self.size = size

    def fixed_size(self) -> int | None:
        return self.size

    def decode(self, buf: bytes, pos: int, ctx: Context) -> tuple[Any, int]:
        end = pos + self.size
        if end > len(buf):
            raise FieldDecodeError(f"needs {self.size} byte(s) at offset {pos}, body ends")
        return self.read(buf[pos:end], ctx), end

    def read(self, chunk: bytes, ctx: Context) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.size})"


class UInt(FixedCodec):
    """BIN码: unsigned little-endian integer."""

    def read(self, chunk: bytes, ctx: Context) -> int:
        return uint_decode(chunk)

    def encode(self, value: Any, ctx: Context) -> bytes:
        return uint_encode(value, self.size)


class Bcd(FixedCodec):
    """BCD码 kept as digit text: pile codes, transaction serials, logical card numbers."""

    def read(self, chunk: bytes, ctx: Context) -> str:
        return bcd_decode(chunk)

    def encode(self, value: Any, ctx: Context) -> bytes:
        if not isinstance(value, str):
            raise FieldEncodeError(f"{value!r} is not digit text")
        return bcd_encode(value, self.size)


class BcdInt(FixedCodec):
    """BCD码 read as a number (gun numbers: 0x12 is gun 12).

    Bytes that are not BCD decode as ``10**(2*size) + raw`` (0x1A -> 126): visibly out of
    range, so they never alias a real gun, and they encode back to the same bytes.
    """

    def read(self, chunk: bytes, ctx: Context) -> int:
        if any(byte >> 4 > 9 or byte & 0x0F > 9 for byte in chunk):
            return 10 ** (2 * self.size) + int.from_bytes(chunk, "big")
        return int(chunk.hex())

    def encode(self, value: Any, ctx: Context) -> bytes:
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldEncodeError(f"{value!r} is not an int")
        limit = 10 ** (2 * self.size)
        if 0 <= value < limit:
            return bcd_encode(str(value), self.size)
        if limit <= value < limit + (1 << (8 * self.size)):
            raw = (value - limit).to_bytes(self.size, "big")
            if any(byte >> 4 > 9 or byte & 0x0F > 9 for byte in raw):
                return raw
        raise FieldEncodeError(f"{value} does not fit in {self.size} BCD byte(s)")


class Hex(FixedCodec):
    """BIN码 identifiers shown as hex text: physical card numbers ("00000000D14B0A54")."""

    def read(self, chunk: bytes, ctx: Context) -> str:
        return chunk.hex().upper()

    def encode(self, value: Any, ctx: Context) -> bytes:
        if not isinstance(value, str):
            raise FieldEncodeError(f"{value!r} is not hex text")
        return bcd_encode(value, self.size)  # same rules: hex digits, left-padded


class Raw(FixedCodec):
    """Opaque bytes (reserved areas, MD5 digests, bit fields kept whole)."""

    def read(self, chunk: bytes, ctx: Context) -> bytes:
        return bytes(chunk)

    def encode(self, value: Any, ctx: Context) -> bytes:
        if not isinstance(value, bytes | bytearray):
            raise FieldEncodeError(f"{value!r} is not bytes")
        if len(value) > self.size:
            raise FieldEncodeError(f"{len(value)} bytes do not fit in {self.size}")
        return bytes(value).ljust(self.size, b"\x00")


class Ascii(FixedCodec):
    """ASCII码 text, zero-padded at the end ("不足8位补零", §6.1).

    ``reverse=True`` is for the VIN of §8.1/§12.1, which goes on the wire back to front.
    Bytes are read as Latin-1 so that any byte decodes, and trailing NULs are dropped:
    decoding then encoding gives the same bytes back.
    """

    def __init__(self, size: int, *, reverse: bool = False) -> None:
        super().__init__(size)
        self.reverse = reverse

    def read(self, chunk: bytes, ctx: Context) -> str:
        data = chunk[::-1] if self.reverse else chunk
        return data.rstrip(b"\x00").decode("latin-1")

    def encode(self, value: Any, ctx: Context) -> bytes:
        if not isinstance(value, str):
            raise FieldEncodeError(f"{value!r} is not text")
        try:
            data = value.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise FieldEncodeError(f"{value!r} is not single-byte text") from exc
        if len(data) > self.size:
            raise FieldEncodeError(f"{value!r} is longer than {self.size} bytes")
        data = data.ljust(self.size, b"\x00")
        return data[::-1] if self.reverse else data


class Cp56(FixedCodec):
    """CP56Time2a timestamp (§3.2) as an aware datetime in the context's tz, or ``None``."""

    def __init__(self) -> None:
        super().__init__(7)

    def read(self, chunk: bytes, ctx: Context) -> datetime | None:
        return cp56_decode(chunk, ctx.tz)

    def encode(self, value: Any, ctx: Context) -> bytes:
        if value is None:
            return bytes(7)
        return cp56_encode(value, ctx.tz)

    def __repr__(self) -> str:
        return "Cp56()"


class ByteList(FixedCodec):
    """``size`` one-byte values as a tuple (the 48 half-hour rate numbers, §6.8)."""

    def read(self, chunk: bytes, ctx: Context) -> tuple[int, ...]:
        return tuple(chunk)

    def encode(self, value: Any, ctx: Context) -> bytes:
        items = tuple(value)
        if len(items) != self.size:
            raise FieldEncodeError(f"needs exactly {self.size} values, got {len(items)}")
        return b"".join(uint_encode(item, 1) for item in items)


class Struct(Codec):
    """A nested dataclass laid out field after field."""

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def fixed_size(self) -> int | None:
        total = 0
        for _, codec in layout(self.cls):
            size = codec.fixed_size()
            if size is None:
                return None
            total += size
        return total

    def decode(self, buf: bytes, pos: int, ctx: Context) -> tuple[Any, int]:
        values: dict[str, Any] = {}
        for name, codec in layout(self.cls):
            try:
                values[name], pos = codec.decode(buf, pos, ctx)
            except FieldDecodeError as exc:
                raise FieldDecodeError(f"{self.cls.__name__}.{name}: {exc}") from exc
        return self.cls(**values), pos

    def encode(self, value: Any, ctx: Context) -> bytes:
        if not isinstance(value, self.cls):
            raise FieldEncodeError(f"{value!r} is not a {self.cls.__name__}")
        parts = []
        for name, codec in layout(self.cls):
            try:
                parts.append(codec.encode(getattr(value, name), ctx))
            except FieldEncodeError as exc:
                raise FieldEncodeError(f"{self.cls.__name__}.{name}: {exc}") from exc
        return b"".join(parts)

    def __repr__(self) -> str:
        return f"Struct({self.cls.__name__})"


class CountedList(Codec):
    """A one-byte count followed by that many items (offline cards, §8.11/§8.13/§8.15)."""

    def __init__(self, item: Codec) -> None:
        self.item = item

    def decode(self, buf: bytes, pos: int, ctx: Context) -> tuple[Any, int]:
        if pos >= len(buf):
            raise FieldDecodeError(f"needs a count byte at offset {pos}, body ends")
        count = buf[pos]
        pos += 1
        items = []
        for _ in range(count):
            item, pos = self.item.decode(buf, pos, ctx)
            items.append(item)
        return tuple(items), pos

    def encode(self, value: Any, ctx: Context) -> bytes:
        items: Sequence[Any] = tuple(value)
        if len(items) > 255:
            raise FieldEncodeError("more than 255 items")
        return bytes([len(items)]) + b"".join(self.item.encode(item, ctx) for item in items)

    def __repr__(self) -> str:
        return f"CountedList({self.item!r})"


class TailList(Codec):
    """Fixed-size items repeated to the end of the body, with no count (§8.14, §8.16).

    A trailing partial item is ignored, like any trailing bytes.
    """

    def __init__(self, item: Codec) -> None:
        self.item = item

    def decode(self, buf: bytes, pos: int, ctx: Context) -> tuple[Any, int]:
        item_size = self.item.fixed_size()
        if not item_size:
            raise TypeError("TailList items must have a fixed, non-zero size")
        items = []
        while len(buf) - pos >= item_size:
            item, pos = self.item.decode(buf, pos, ctx)
            items.append(item)
        return tuple(items), pos

    def encode(self, value: Any, ctx: Context) -> bytes:
        return b"".join(self.item.encode(item, ctx) for item in tuple(value))

    def __repr__(self) -> str:
        return f"TailList({self.item!r})"


# --- the layout engine --------------------------------------------------------------------


def _codec_for(hint: Any) -> Codec | None:
    if typing.get_origin(hint) is typing.Annotated:
        for meta in hint.__metadata__:
            if isinstance(meta, Codec):
                return meta
        return None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return Struct(hint)
    return None


@functools.cache
def layout(cls: type) -> tuple[tuple[str, Codec], ...]:
    """The wire fields of a dataclass, in order, with their codecs."""
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = []
    for field in dataclasses.fields(cls):
        codec = _codec_for(hints[field.name])
        if codec is None:
            raise TypeError(f"{cls.__name__}.{field.name} has no wire codec")
        fields.append((field.name, codec))
    return tuple(fields)


def decode_struct(cls: type, body: bytes, ctx: Context) -> tuple[Any, int]:
    """Decode ``cls`` from the start of ``body``; returns the value and bytes used."""
    return Struct(cls).decode(body, 0, ctx)


def encode_struct(value: Any, ctx: Context) -> bytes:
    return Struct(type(value)).encode(value, ctx)
