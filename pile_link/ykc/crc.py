"""CRC-16/MODBUS, the frame check of YKC v1.6.

# YKC v1.6 §3.1 says "多项式为0x180D" but §13.2 gives the table-driven Modbus routine, and
# the self-consistent sample frames (§6.2, §6.6, §8.2) check out only with CRC-16/MODBUS
# (reflected poly 0x8005, init 0xFFFF, no final xor) over seq..body: the samples win.
"""

from __future__ import annotations


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


# computed, not copied: the table printed in §13.2 is damaged in the spec's text
_TABLE = _make_table()


def crc16_modbus(data: bytes | bytearray | memoryview) -> int:
    """Return the CRC-16/MODBUS of ``data`` as an int (send it low byte first)."""
    crc = 0xFFFF
    table = _TABLE
    for byte in bytes(data):
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc
