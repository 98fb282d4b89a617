"""The T/CEC 102.4 envelope against the standard's own worked example (Part 4 §7.3.3 and
§8.3) and against what real peers send."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.hlht import envelope as env
from app.hlht.envelope import EnvelopeError, Keys, Ret

# Part 4 §7.3.3: key = IV = 1234567890abcdef; §8.3: SigSecret the same
EXAMPLE_KEYS = Keys("1234567890abcdef", "1234567890abcdef", "1234567890abcdef")
EXAMPLE_PLAIN = (
    '{"total":1,"stationStatusInfo":{"operationID":"123456789","stationID":"111111111111111",'
    '"connectorStatusInfos":{"connectorID":1,"equipmentID":"10000000000000000000001",'
    '"status":4,"currentA":0,"currentB":0,"currentC":0,"voltageA":0,"voltageB":0,'
    '"voltageC":0,"soc":10,}}}'
)  # (the standard's example keeps its trailing comma: it is bytes to encrypt, not JSON)
EXAMPLE_DATA = (
    "il7B0BSEjFdzpyKzfOFpvg/Se1CP802RItKYFPfSLRxJ3jf0bVl9hvYOEktPAYW2nd7S8MBcyHYyacHKbISq5"
    "iTmDzG+ivnR+SZJv3USNTYVMz9rCQVSxd0cLlqsJauko79NnwQJbzDTyLooYoIwz75qBOH2/xOMirpeEqRJrF"
    "/EQjWekJmGk9RtboXePu2rka+Xm51syBPhiXJAq0GfbfaFu9tNqs/e2Vjja/ltE1M0lqvxfXQ6da6HrThsm5i"
    "d4ClZFIi0acRfrsPLRixS/IQYtksxghvJwbqOsbIsITail9Ayy4tKcogeEZiOO+4Ed264NSKmk7l3wKwJLAFjC"
    "FogBx8GE3OBz4pqcAn/ydA="
)
EXAMPLE_SIG = "745166E8C43C84D37FFEC0F529C4136F"
PARTNER = Keys("a2b4c6d8e0f1a3b5", "f0e1d2c3b4a59687", "a2b4c6d8e0f1a3b5")


def test_the_standards_encryption_example() -> None:
    assert env.encrypt(EXAMPLE_PLAIN, EXAMPLE_KEYS) == EXAMPLE_DATA
    assert env.decrypt(EXAMPLE_DATA, EXAMPLE_KEYS).decode() == EXAMPLE_PLAIN


def test_the_standards_signature_example() -> None:
    sig = env.sign("1234567890abcdef", "123456789", EXAMPLE_DATA, "20160729142400", "0001")
    assert sig == EXAMPLE_SIG


def test_base64_broken_over_lines_decrypts_and_is_signed_as_sent() -> None:
    wrapped = "\r\n".join(EXAMPLE_DATA[i : i + 76] for i in range(0, len(EXAMPLE_DATA), 76))
    assert env.decrypt(wrapped, EXAMPLE_KEYS).decode() == EXAMPLE_PLAIN
    body = {
        "OperatorID": "123456789",
        "Data": wrapped,
        "TimeStamp": "20160729142400",
        "Seq": "0001",
        "Sig": env.sign("1234567890abcdef", "123456789", wrapped, "20160729142400", "0001"),
    }
    with pytest.raises(EnvelopeError) as err:  # the example's Data is not JSON
        env.open_request(body, lambda _: EXAMPLE_KEYS)
    assert err.value.ret is Ret.PARAMETERS  # …but its signature over the raw string held


def test_a_lower_case_signature_is_accepted_and_ours_is_upper_case() -> None:
    assert env.signature_matches(
        "1234567890abcdef", EXAMPLE_SIG.lower(), "123456789", EXAMPLE_DATA, "20160729142400", "0001"
    )
    assert not env.signature_matches(
        "1234567890abcdef", EXAMPLE_SIG, "123456789", EXAMPLE_DATA, "20160729142400", "0002"
    )


def test_chinese_text_is_padded_by_bytes() -> None:
    payload = {"StationName": "云创·深圳南山科技园站", "Address": "深圳市南山区"}
    data = env.encode_data(payload, PARTNER)
    assert env.decode_data(data, PARTNER) == payload
    # 16-byte blocks of the UTF-8 bytes, not of the characters
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    assert len(env.decrypt(data, PARTNER)) == len(raw)


def test_a_request_round_trip_and_each_refusal_has_its_ret() -> None:
    body = env.build_request(
        "MA01DEMO9", {"OperatorSecret": "s"}, PARTNER, stamp="20261203140000", seq="0001"
    )
    keys_for = {"MA01DEMO9": PARTNER}.get
    request = env.open_request(body, keys_for)
    assert request.data == {"OperatorSecret": "s"} and request.operator_id == "MA01DEMO9"
    for missing in env.ENVELOPE_FIELDS:
        broken = {k: v for k, v in body.items() if k != missing}
        with pytest.raises(EnvelopeError) as err:
            env.open_request(broken, keys_for)
        assert err.value.ret is Ret.ENVELOPE and missing in err.value.msg
    with pytest.raises(EnvelopeError) as err:
        env.open_request({**body, "Sig": "0" * 32}, keys_for)
    assert err.value.ret is Ret.SIGNATURE
    with pytest.raises(EnvelopeError) as err:
        env.open_request({**body, "OperatorID": "MA0UNKNOWN"}, keys_for)
    assert err.value.ret is Ret.SIGNATURE
    other = Keys("0000000000000000", "0000000000000000", PARTNER.sig_secret)
    forged = env.build_request("MA01DEMO9", {"x": 1}, other, stamp="20261203140000", seq="0002")
    with pytest.raises(EnvelopeError) as err:  # signed right, encrypted with other keys
        env.open_request(forged, keys_for)
    assert err.value.ret is Ret.PARAMETERS


def test_a_replayed_or_stale_request_is_refused() -> None:
    now = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    stamp = env.timestamp(now)
    assert stamp == "20261203140000"  # China time
    guard = env.ReplayGuard(timedelta(minutes=5))
    body = env.build_request("MA01DEMO9", {}, PARTNER, stamp=stamp, seq="0001")
    env.open_request(body, {"MA01DEMO9": PARTNER}.get, guard=guard, now=now)
    with pytest.raises(EnvelopeError, match="重复"):
        env.open_request(body, {"MA01DEMO9": PARTNER}.get, guard=guard, now=now)
    with pytest.raises(EnvelopeError, match="时间窗口"):
        late = env.build_request("MA01DEMO9", {}, PARTNER, stamp=stamp, seq="0002")
        env.open_request(
            late, {"MA01DEMO9": PARTNER}.get, guard=guard, now=now + timedelta(minutes=6)
        )


def test_a_response_is_signed_over_ret_msg_data_and_verified() -> None:
    answer = env.build_response(Ret.OK, "成功", {"AccessToken": "t"}, PARTNER)
    assert answer["Sig"] == env.sign(PARTNER.sig_secret, "0", "成功", answer["Data"])
    assert env.open_response(answer, PARTNER) == (0, "成功", {"AccessToken": "t"})
    with pytest.raises(EnvelopeError):
        env.open_response({**answer, "Msg": "篡改"}, PARTNER)
    unattributed = env.build_response(Ret.SIGNATURE, "签名错误", None, None)
    assert unattributed == {"Ret": 4001, "Msg": "签名错误", "Data": "", "Sig": ""}


def test_seq_counts_within_a_second_and_sequence_numbers_are_27_characters() -> None:
    counter = env.SeqCounter()
    assert [counter.next("20261203140000") for _ in range(3)] == ["0001", "0002", "0003"]
    assert counter.next("20261203140001") == "0001"
    now = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    numbers = {env.sequence_number("MA5EVOP01", now) for _ in range(200)}
    assert len(numbers) == 200 and all(len(n) == 27 and n[:9] == "MA5EVOP01" for n in numbers)


def test_the_standards_typos_are_written_and_read_and_xiaoju_gets_the_words() -> None:
    ours = {
        "PolicyInfos": [{"StartTime": "000000", "ElecPrice": 0.6, "ServicePrice": 0.8}],
        "TotalServiceMoney": 1.2,
    }
    cec = env.spell(ours)
    assert cec == {
        "PolicyInfos": [{"StartTime": "000000", "ElecPrice": 0.6, "SevicePrice": 0.8}],
        "TotalSeviceMoney": 1.2,
    }
    assert env.spell(ours, "xiaoju") == ours
    assert env.canonical(cec) == ours
    assert env.field({"QrCode": "x"}, "QRCode") == "x"
    assert env.field({"connectorID": "1"}, "ConnectorID") == "1"


def test_keys_are_16_bytes_and_never_printed() -> None:
    with pytest.raises(ValueError):
        Keys("short", "1234567890abcdef", "s")
    assert "a2b4" not in repr(PARTNER)
