"""The T/CEC 102.4 envelope (互联互通 transport and security), pure: no Flask, no database.

Every interface is ``POST <base>/evcs/v1/<interface>`` with a JSON body
``{OperatorID, Data, TimeStamp, Seq, Sig}`` and answers HTTP 200 with
``{Ret, Msg, Data, Sig}``:

* ``Data`` is Base64(AES-128-CBC(PKCS#7, UTF-8 JSON)) with the partner's 16-byte
  DataSecret as key and DataSecretIV as IV (Part 4 §7.3: 「加密模式采用CBC，填充模式采用
  PKCS5Padding」; PKCS#5 on 16-byte blocks is PKCS#7);
* ``Sig`` is the upper-case hex HMAC-MD5 with SigSecret over ``OperatorID + Data +
  TimeStamp + Seq`` of a request, ``Ret + Msg + Data`` of a response — over the Base64
  string exactly as sent (Part 4 §8);
* ``TimeStamp`` is ``yyyyMMddHHmmss`` (China time), ``Seq`` four digits counting within
  the second.

What real peers do beyond the text is read leniently and written by the standard: Base64
broken over lines (whitespace is dropped before decoding, the signature is over the raw
string), a lower-case Sig (compared case-insensitively, in constant time), key spellings
(``QrCode``, lower-case ``connectorID``), the standard's own typos (``SevicePrice``...).
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

CHINA = ZoneInfo("Asia/Shanghai")
ENVELOPE_FIELDS = ("OperatorID", "Data", "TimeStamp", "Seq", "Sig")
_WHITESPACE = re.compile(r"\s+")
_TIMESTAMP = re.compile(r"^\d{14}$")
_SEQ = re.compile(r"^\d{4}$")


class Ret(enum.IntEnum):
    """The result of every interface (Part 4, 返回参数编码表)."""

    BUSY = -1  # 系统繁忙，此时请求方稍后重试
    OK = 0
    SIGNATURE = 4001  # 签名错误
    TOKEN = 4002  # Token错误
    ENVELOPE = 4003  # POST参数不合法，缺少必须的 OperatorID, Sig, TimeStamp, Data, Seq
    PARAMETERS = 4004  # 请求的业务参数不合法
    SYSTEM = 500  # 系统错误


class EnvelopeError(Exception):
    """A request or answer that cannot be accepted, with the Ret that says why."""

    def __init__(self, ret: Ret, msg: str) -> None:
        super().__init__(f"{int(ret)} {msg}")
        self.ret = ret
        self.msg = msg


@dataclass(frozen=True, slots=True)
class Keys:
    """One direction's secrets: DataSecret and DataSecretIV (16 ASCII bytes each, used as
    raw bytes, Part 4 §7.3.3) and SigSecret."""

    data_secret: str
    data_iv: str
    sig_secret: str

    def __post_init__(self) -> None:
        for name in ("data_secret", "data_iv"):
            value = getattr(self, name)
            if len(value.encode("utf-8")) != 16:
                raise ValueError(f"{name} must be 16 bytes (AES-128), got {len(value)}")
        if not self.sig_secret:
            raise ValueError("sig_secret is empty")

    def __repr__(self) -> str:  # secrets never reach a log
        return "Keys(***)"


# --- Data: AES-128-CBC, PKCS#7, Base64 --------------------------------------------------


def encrypt(plain: bytes | str, keys: Keys) -> str:
    raw = plain.encode("utf-8") if isinstance(plain, str) else plain
    padder = padding.PKCS7(128).padder()  # pads bytes, not characters (Chinese text)
    padded = padder.update(raw) + padder.finalize()
    cipher = Cipher(algorithms.AES(keys.data_secret.encode()), modes.CBC(keys.data_iv.encode()))
    enc = cipher.encryptor()
    return base64.b64encode(enc.update(padded) + enc.finalize()).decode("ascii")


def decrypt(data: str, keys: Keys) -> bytes:
    """The plaintext bytes of ``data``; ``EnvelopeError(PARAMETERS)`` when it is not our
    ciphertext (line breaks and spaces some peers put into the Base64 are dropped)."""
    try:
        raw = base64.b64decode(_WHITESPACE.sub("", data), validate=True)
        if not raw or len(raw) % 16:
            raise ValueError("not whole AES blocks")
        cipher = Cipher(algorithms.AES(keys.data_secret.encode()), modes.CBC(keys.data_iv.encode()))
        dec = cipher.decryptor()
        padded = dec.update(raw) + dec.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except (binascii.Error, ValueError):
        raise EnvelopeError(Ret.PARAMETERS, "Data 无法解密") from None


def encode_data(payload: Any, keys: Keys) -> str:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return encrypt(text, keys)


def decode_data(data: str, keys: Keys) -> Any:
    try:
        return json.loads(decrypt(data, keys).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise EnvelopeError(Ret.PARAMETERS, "Data 不是 JSON") from None


# --- Sig: HMAC-MD5, upper-case hex ------------------------------------------------------


def sign(sig_secret: str, *parts: str) -> str:
    message = "".join(parts).encode("utf-8")
    return hmac.new(sig_secret.encode("utf-8"), message, hashlib.md5).hexdigest().upper()


def signature_matches(sig_secret: str, given: str, *parts: str) -> bool:
    """Constant-time, case-insensitive (some peers send lower-case hex)."""
    return hmac.compare_digest(sign(sig_secret, *parts), given.strip().upper())


# --- TimeStamp, Seq, sequence numbers ---------------------------------------------------


def timestamp(now: datetime) -> str:
    return now.astimezone(CHINA).strftime("%Y%m%d%H%M%S")


def parse_timestamp(value: str) -> datetime:
    if not _TIMESTAMP.match(value or ""):
        raise EnvelopeError(Ret.ENVELOPE, "TimeStamp 应为 yyyyMMddHHmmss")
    try:
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=CHINA)
    except ValueError:
        raise EnvelopeError(Ret.ENVELOPE, "TimeStamp 不是有效时间") from None


class SeqCounter:
    """``Seq``: four digits, counting within one TimeStamp second, restarting each second."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._second = ""
        self._n = 0

    def next(self, stamp: str) -> str:
        with self._lock:
            if stamp != self._second:
                self._second, self._n = stamp, 0
            self._n = self._n % 9999 + 1
            return f"{self._n:04d}"


_ALPHABET = string.digits + string.ascii_uppercase


def sequence_number(operator_id: str, now: datetime) -> str:
    """StartChargeSeq, EquipAuthSeq, EquipBizSeq, CheckOrderSeq: 27 characters, the
    issuer's 9-character OperatorID and 18 unique ones (here the China time to the second
    and 6 random characters)."""
    if len(operator_id) != 9:
        raise ValueError("OperatorID is 9 characters (组织机构代码)")
    tail = "".join(secrets.choice(_ALPHABET) for _ in range(6))
    return operator_id + now.astimezone(CHINA).strftime("%y%m%d%H%M%S") + tail


class ReplayGuard:
    """A request is accepted once: its TimeStamp within ``window`` of our clock, its
    (OperatorID, TimeStamp, Seq) not seen before in that window. Kept here in this
    process's memory (a restart forgets, the window still bounds what a replay can do);
    :class:`app.hlht.replay.RedisReplayGuard` keeps it where every worker sees it."""

    def __init__(self, window: timedelta = timedelta(minutes=5)) -> None:
        self.window = window
        self._seen: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()

    def check(self, operator_id: str, stamp: str, seq: str, now: datetime) -> None:
        at = parse_timestamp(stamp)
        if abs(at - now) > self.window:
            raise EnvelopeError(Ret.ENVELOPE, "TimeStamp 超出允许的时间窗口")
        if not self.first_time((operator_id, stamp, seq)):
            raise EnvelopeError(Ret.ENVELOPE, "重复的请求（OperatorID+TimeStamp+Seq 已处理）")

    def first_time(self, key: tuple[str, str, str]) -> bool:
        """Note ``key``; False when it was noted before. A key must be kept as long as its
        TimeStamp can pass the window: twice the window from now."""
        moment = time.monotonic()
        with self._lock:
            horizon = moment - 2 * self.window.total_seconds()
            if len(self._seen) > 10_000:
                self._seen = {k: v for k, v in self._seen.items() if v > horizon}
            if key in self._seen:
                return False
            self._seen[key] = moment
            return True


# --- requests and responses -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    operator_id: str
    data: Any
    timestamp: str
    seq: str


def build_request(
    operator_id: str, payload: Any, keys: Keys, *, stamp: str, seq: str
) -> dict[str, str]:
    data = encode_data(payload, keys)
    return {
        "OperatorID": operator_id,
        "Data": data,
        "TimeStamp": stamp,
        "Seq": seq,
        "Sig": sign(keys.sig_secret, operator_id, data, stamp, seq),
    }


def open_request(
    body: Any,
    keys_for: Callable[[str], Keys | None],
    *,
    guard: ReplayGuard | None = None,
    now: datetime | None = None,
) -> Request:
    """Check an inbound request in the standard's order: the five fields (4003), the
    partner and its signature (4001), replay and clock (4003), the Data (4004)."""
    if not isinstance(body, Mapping):
        raise EnvelopeError(Ret.ENVELOPE, "请求体应为 JSON 对象")
    missing = [f for f in ENVELOPE_FIELDS if not isinstance(body.get(f), str) or not body.get(f)]
    if missing:
        raise EnvelopeError(Ret.ENVELOPE, "缺少参数：" + ",".join(missing))
    operator_id, data, stamp, seq = (body[f] for f in ENVELOPE_FIELDS[:4])
    if not _SEQ.match(seq):
        raise EnvelopeError(Ret.ENVELOPE, "Seq 应为 4 位数字")
    keys = keys_for(operator_id)
    if keys is None:
        raise EnvelopeError(Ret.SIGNATURE, "OperatorID 未登记为合作平台")
    if not signature_matches(keys.sig_secret, body["Sig"], operator_id, data, stamp, seq):
        raise EnvelopeError(Ret.SIGNATURE, "签名错误")
    if guard is not None:
        guard.check(operator_id, stamp, seq, now or datetime.now(CHINA))
    return Request(operator_id, decode_data(data, keys), stamp, seq)


def build_response(ret: Ret, msg: str, payload: Any, keys: Keys | None) -> dict[str, Any]:
    """An answer, encrypted and signed with the keys of the request it answers (none when
    the request could not be attributed: then Data and Sig are empty)."""
    if keys is None:
        return {"Ret": int(ret), "Msg": msg, "Data": "", "Sig": ""}
    data = encode_data(payload, keys) if payload is not None else ""
    return {
        "Ret": int(ret),
        "Msg": msg,
        "Data": data,
        "Sig": sign(keys.sig_secret, str(int(ret)), msg, data),
    }


def open_response(body: Any, keys: Keys) -> tuple[int, str, Any]:
    """A partner's answer: (Ret, Msg, decoded Data or None); a bad signature is an error."""
    if not isinstance(body, Mapping) or "Ret" not in body:
        raise EnvelopeError(Ret.SYSTEM, "应答不是 T/CEC 102 格式")
    ret, msg, data = int(body["Ret"]), str(body.get("Msg", "")), str(body.get("Data") or "")
    sig = str(body.get("Sig") or "")
    if (data or sig) and not signature_matches(keys.sig_secret, sig, str(ret), msg, data):
        raise EnvelopeError(Ret.SIGNATURE, "应答签名错误")
    return ret, msg, decode_data(data, keys) if data else None


# --- field spellings ----------------------------------------------------------------------

# The standard's own spellings, emitted as written (partners parse them so);
# the Xiaoju dialect writes the words correctly.
STANDARD_SPELLINGS = {
    "ServicePrice": "SevicePrice",
    "ServiceMoney": "SeviceMoney",
    "TotalServiceMoney": "TotalSeviceMoney",
    "DetailServiceMoney": "DetailSeviceMoney",
    "BusinessHours": "BusineHours",
}
XIAOJU_SPELLINGS = {"BusinessHours": "BusineHours"}
_READ_AS = {**{v.lower(): k for k, v in STANDARD_SPELLINGS.items()}}


def spell(obj: Any, dialect: str = "cec2016") -> Any:
    """``obj`` with our canonical keys written as the partner's dialect reads them."""
    table = XIAOJU_SPELLINGS if dialect == "xiaoju" else STANDARD_SPELLINGS
    if isinstance(obj, Mapping):
        return {table.get(k, k): spell(v, dialect) for k, v in obj.items()}
    if isinstance(obj, list):
        return [spell(v, dialect) for v in obj]
    return obj


def canonical(obj: Any) -> Any:
    """A partner's ``obj`` with keys read leniently: the standard's typos and any letter
    case (``QrCode``, ``connectorID``) become our canonical names where we know them."""
    if isinstance(obj, Mapping):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            name = _READ_AS.get(str(k).lower(), str(k))
            out[name] = canonical(v)
        return out
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


def field(data: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """``data[name]`` whatever the letter case a peer used (``QRCode``/``QrCode``)."""
    if name in data:
        return data[name]
    lowered = name.lower()
    for key, value in data.items():
        if str(key).lower() == lowered:
            return value
    return default
