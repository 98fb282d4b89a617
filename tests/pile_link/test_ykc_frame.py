"""YKC v1.6 framing and the stream decoder: partial frames, garbage, bad CRC, fuzzing."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pile_link.ykc import (
    MAX_FRAME_SIZE,
    Frame,
    FrameDecoder,
    FrameError,
    Heartbeat,
    decode_message,
    encode_message,
    parse_frame,
)
from pile_link.ykc.crc import crc16_modbus

# §6.2 sample, CRC low byte first as printed
LOGIN_REPLY = bytes.fromhex("680C000000025503141278230500DA4C")
HEARTBEAT = encode_message(Heartbeat(pile_code="32010200000001", gun_no=1, gun_status=0), 7)


def test_frame_encode_layout():
    frame = Frame(seq=0x0102, frame_type=0x03, body=b"\xaa\xbb")
    raw = frame.encode()
    assert raw[:6] == bytes([0x68, 6, 0x02, 0x01, 0x00, 0x03])  # seq little-endian
    assert raw[6:8] == b"\xaa\xbb"
    crc = crc16_modbus(raw[2:8])
    assert raw[8:] == bytes([crc & 0xFF, crc >> 8])  # low byte first
    assert parse_frame(raw) == frame


def test_frame_encode_refuses_what_does_not_fit():
    with pytest.raises(FrameError):
        Frame(seq=70000, frame_type=1, body=b"").encode()
    with pytest.raises(FrameError):
        Frame(seq=1, frame_type=1, body=bytes(252)).encode()
    assert len(Frame(seq=1, frame_type=1, body=bytes(251)).encode()) == MAX_FRAME_SIZE


def test_parse_frame_accepts_crc_high_byte_first():
    swapped = LOGIN_REPLY[:-2] + LOGIN_REPLY[-2:][::-1]
    frame = parse_frame(swapped)
    assert frame.crc_high_first
    assert frame == parse_frame(LOGIN_REPLY)
    assert not parse_frame(LOGIN_REPLY).crc_high_first


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"\x68\x0c", "short"),
        (b"\x69" + LOGIN_REPLY[1:], "bad_start"),
        (b"\x68\x03" + LOGIN_REPLY[2:], "bad_length"),
        (LOGIN_REPLY + b"\x00", "bad_length"),
        (LOGIN_REPLY[:-1] + b"\x00", "bad_crc"),
    ],
)
def test_parse_frame_errors(raw, kind):
    with pytest.raises(FrameError) as info:
        parse_frame(raw)
    assert info.value.kind == kind


def test_parse_frame_can_skip_the_crc_check():
    assert parse_frame(LOGIN_REPLY[:-2] + b"\x00\x00", verify_crc=False).frame_type == 0x02


# --- stream decoder -------------------------------------------------------------------------


def test_feed_whole_frames():
    decoder = FrameDecoder()
    frames = decoder.feed(LOGIN_REPLY + HEARTBEAT)
    assert [f.frame_type for f in frames] == [0x02, 0x03]
    assert frames[1].seq == 7
    assert decoder.buffered == 0
    assert decoder.take_issues() == []
    assert decoder.frames_decoded == 2


def test_feed_one_byte_at_a_time():
    decoder = FrameDecoder()
    frames = []
    for byte in LOGIN_REPLY + HEARTBEAT:
        frames += decoder.feed(bytes([byte]))
    assert [f.frame_type for f in frames] == [0x02, 0x03]
    assert decoder.take_issues() == []


def test_partial_frame_waits_for_the_rest():
    decoder = FrameDecoder()
    assert decoder.feed(HEARTBEAT[:5]) == []
    assert decoder.buffered == 5
    assert decoder.feed(HEARTBEAT[5:]) == [parse_frame(HEARTBEAT)]
    assert decoder.buffered == 0


def test_garbage_before_and_between_frames_is_skipped_and_reported():
    decoder = FrameDecoder()
    frames = decoder.feed(b"\x00\x01garbage" + LOGIN_REPLY + b"\xff\xfe" + HEARTBEAT + b"\x13")
    assert [f.frame_type for f in frames] == [0x02, 0x03]
    issues = decoder.take_issues()
    assert [i.kind for i in issues] == ["garbage", "garbage", "garbage"]
    assert issues[0].data == b"\x00\x01garbage"
    assert decoder.bytes_discarded == 9 + 2 + 1
    assert decoder.take_issues() == []


def test_bad_crc_frame_is_dropped_and_the_next_frame_found():
    corrupt = bytearray(HEARTBEAT)
    corrupt[8] ^= 0xFF
    decoder = FrameDecoder()
    frames = decoder.feed(bytes(corrupt) + LOGIN_REPLY)
    assert [f.frame_type for f in frames] == [0x02]
    kinds = [i.kind for i in decoder.take_issues()]
    assert kinds[0] == "bad_crc"
    assert decoder.crc_errors == 1


def test_resync_finds_a_frame_hidden_inside_a_false_start():
    # a stray 0x68 whose "length" swallows the real frame that follows
    decoder = FrameDecoder()
    frames = decoder.feed(b"\x68\x10" + LOGIN_REPLY + bytes(10))
    assert frames == [parse_frame(LOGIN_REPLY)]
    assert decoder.take_issues()[0].kind == "bad_crc"


def test_impossible_length_is_rejected():
    decoder = FrameDecoder()
    frames = decoder.feed(b"\x68\x00\x68\x03" + HEARTBEAT)
    assert [f.frame_type for f in frames] == [0x03]
    kinds = [i.kind for i in decoder.take_issues() if i.kind != "garbage"]
    assert kinds == ["bad_length", "bad_length"]


def test_issue_log_is_bounded():
    decoder = FrameDecoder(max_issues=3)
    decoder.feed(b"\x68\x00" * 10)
    assert len(decoder.take_issues()) == 3


def test_decoded_frame_gives_the_message():
    [frame] = FrameDecoder().feed(HEARTBEAT)
    assert decode_message(frame) == Heartbeat(pile_code="32010200000001", gun_no=1, gun_status=0)


def test_one_thousand_random_byte_strings_never_raise():
    rng = random.Random(20201029)  # the date of YKC v1.6
    decoder = FrameDecoder()
    for _ in range(1000):
        size = rng.choice([0, 1, 2, 7, 20, 64, 300, 1024])
        data = bytes(rng.getrandbits(8) for _ in range(size))
        if rng.random() < 0.3:  # plenty of start bytes and small lengths
            data = bytes(b if rng.random() < 0.7 else 0x68 for b in data)
        for frame in decoder.feed(data):
            assert 0 <= frame.frame_type <= 0xFF
        assert decoder.buffered < MAX_FRAME_SIZE
        decoder.take_issues()
    # still in sync afterwards: garbage, then a real frame, is read
    decoder.feed(bytes(MAX_FRAME_SIZE))
    assert decoder.feed(HEARTBEAT) == [parse_frame(HEARTBEAT)]


frames_st = st.builds(
    Frame,
    seq=st.integers(0, 0xFFFF),
    frame_type=st.integers(0, 0xFF),
    body=st.binary(max_size=251),
    encrypted=st.sampled_from([0, 1]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(frames_st, max_size=5), st.data())
def test_frames_survive_any_chunking(frames, data):
    stream = b"".join(frame.encode() for frame in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    decoder = FrameDecoder()
    out = []
    previous = 0
    for cut in [*cuts, len(stream)]:
        out += decoder.feed(stream[previous:cut])
        previous = cut
    assert out == frames
    assert decoder.buffered == 0
    assert decoder.take_issues() == []


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), frames_st, st.binary(max_size=300))
def test_a_frame_between_garbage_is_found(before, frame, after):
    # garbage without start bytes cannot fake a frame; with them the real frame is still
    # found because every rejected start resyncs one byte later
    before = before.replace(b"\x68", b"\x00")
    decoder = FrameDecoder()
    out = decoder.feed(before + frame.encode() + after)
    assert out[0] == frame
    assert decoder.buffered < MAX_FRAME_SIZE


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=400), max_size=6))
def test_feed_never_raises_and_stays_bounded(chunks):
    decoder = FrameDecoder()
    for chunk in chunks:
        decoder.feed(chunk)
        assert decoder.buffered < MAX_FRAME_SIZE
