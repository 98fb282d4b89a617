"""The demo's partner platform (issue 11: "a newcomer can scan a partner's ``hlht://`` code
and watch a roaming order from both sides"): 演示互联平台, OperatorID ``MA01DEMO9``, as the
pile owner of two stations with simulated piles, mounted at ``/sandbox/hlht/`` on the
platform's own server in demo mode only (``check-settings`` refuses it in production).

It speaks T/CEC 102 exactly as a partner does, through the same envelope code: it checks
our token, signature and keys, answers with the standard's spellings (``SevicePrice``), and
pushes its notifications (start result, charge status, stop result, the bill) to our
``/evcs/v1/`` as the partner, with a token it fetched from us. Its piles charge at a fixed
power from the moment a start is accepted; its bill is the energy (to 0.01 kWh, as its
notifications carry it) at the price of the period the charge started in, rounded by the
platform's one rule (:func:`app.money.fee_fen`). Nothing is stored: a restart forgets its
sessions, like a partner whose orders we must reconcile."""

from __future__ import annotations

import heapq
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import count
from typing import Any

import requests
from flask import Blueprint, Flask, Response, jsonify, request

from app.db import utcnow
from app.hlht import envelope as env
from app.hlht.envelope import CHINA, EnvelopeError, Keys, Ret
from app.money import fee_fen

log = logging.getLogger(__name__)

MOUNT_PREFIX = "/sandbox/hlht"
_EXTENSION = "evop.hlht_sandbox"
POWER_W = 30_000  # every simulated connector charges at 30 kW
TOKEN_SECONDS = 7 * 24 * 3600

# (StationID, name, address, longitude, latitude): two stations near the demo city
STATIONS = (
    ("DEMO9BA01", "演示互联·深圳宝安中心站", "深圳市宝安区新湖路 99 号", "113.8838", "22.5540"),
    ("DEMO9LH01", "演示互联·深圳龙华民治站", "深圳市龙华区民治大道 2000 号", "114.0443", "22.6203"),
)  # fmt: skip
GUNS_PER_STATION = 2
# (StartTime hhmmss, electricity, service) in yuan per kWh: the partner's time-of-use policy
POLICY = (("000000", "0.6000", "0.4000"), ("080000", "1.0000", "0.8000"),
          ("220000", "0.6000", "0.4000"))  # fmt: skip

# StartChargeSeqStat
STARTING, CHARGING, STOPPING, FINISHED = 1, 2, 3, 4


def connector_ids() -> list[str]:
    """The sandbox's ConnectorIDs: station code, gun number (``DEMO9BA01-1``)."""
    return [f"{sid}-{n}" for sid, *_ in STATIONS for n in range(1, GUNS_PER_STATION + 1)]


def _stamp(at: datetime | None) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S") if at else ""


def _yuan(fen: int) -> float:
    return round(fen / 100, 2)


def period_at(at: datetime) -> tuple[str, str, str]:
    """The policy period a moment falls in (local time of day)."""
    hhmmss = at.astimezone(CHINA).strftime("%H%M%S")
    return [p for p in POLICY if p[0] <= hhmmss][-1]


@dataclass
class Session:
    seq: str
    connector: str
    accepted_at: datetime
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    state: int = STARTING

    def energy_wh(self, now: datetime) -> int:
        """To 10 Wh (0.01 kWh, what its notifications carry), from the start to the stop."""
        if self.started_at is None:
            return 0
        seconds = ((self.stopped_at or now) - self.started_at).total_seconds()
        return int(max(seconds, 0) * POWER_W / 3600) // 10 * 10

    def money(self, now: datetime) -> tuple[int, int]:
        """(electricity, service) in fen at the price of the period the charge began in."""
        _, elec, service = period_at(self.started_at or self.accepted_at)
        wh = self.energy_wh(now)
        return fee_fen(wh, Decimal(elec)), fee_fen(wh, Decimal(service))


@dataclass
class PartnerSandbox:
    """The partner's state and its push queue. ``platform_base`` is where our
    ``/evcs/v1/`` answers; ``platform_secret`` the OperatorSecret our platform presents
    to it, ``own_secret`` the one it presents to our platform."""

    operator_id: str
    keys: Keys
    platform_secret: str
    own_secret: str
    platform_base: str
    status_every_s: float = 10.0
    start_delay_s: float = 1.0
    clock: Callable[[], datetime] = utcnow
    tokens: set[str] = field(default_factory=set)
    sessions: dict[str, Session] = field(default_factory=dict)
    pushed: list[tuple[str, int]] = field(default_factory=list)  # (interface, Ret) answered
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _queue: list[tuple[float, int, str, str]] = field(default_factory=list)
    _order: count[int] = field(default_factory=count)
    _wake: threading.Condition = field(default_factory=threading.Condition)
    _token: str = ""
    _worker: threading.Thread | None = None
    _stopping: bool = False
    _http: requests.Session = field(default_factory=requests.Session)

    # ------------------------------------------------------------------ interfaces

    def answer(self, interface: str, body: Any, bearer: str) -> dict[str, Any]:
        """One call of our platform to the partner: the envelope checked as a partner
        checks it, the interface answered, the answer encrypted and signed."""
        try:
            req = env.open_request(body, lambda oid: self.keys if oid else None)
            if interface != "query_token" and bearer not in self.tokens:
                raise EnvelopeError(Ret.TOKEN, "Token 无效或已过期")
            handler = getattr(self, f"_{interface}", None)
            if handler is None or not isinstance(req.data, dict):
                raise EnvelopeError(Ret.PARAMETERS, f"接口 {interface} 不存在或参数不是对象")
            with self._lock:
                data = handler(env.canonical(req.data))
        except EnvelopeError as err:
            keys = self.keys if err.ret not in (Ret.SIGNATURE, Ret.ENVELOPE) else None
            return env.build_response(err.ret, err.msg, None, keys)
        return env.build_response(Ret.OK, "", env.spell(data), self.keys)

    def _query_token(self, data: dict[str, Any]) -> dict[str, Any]:
        if env.field(data, "OperatorSecret") != self.platform_secret:
            return {"OperatorID": self.operator_id, "SuccStat": 1, "FailReason": 2,
                    "AccessToken": "", "TokenAvailableTime": 0}  # fmt: skip
        token = secrets.token_hex(16)
        self.tokens.add(token)
        return {"OperatorID": self.operator_id, "SuccStat": 0, "FailReason": 0,
                "AccessToken": token, "TokenAvailableTime": TOKEN_SECONDS}  # fmt: skip

    def _query_stations_info(self, data: dict[str, Any]) -> dict[str, Any]:
        size = max(int(env.field(data, "PageSize", 10) or 10), 1)
        page = max(int(env.field(data, "PageNo", 1) or 1), 1)
        infos = [self._station_info(*s) for s in STATIONS]
        pages = max((len(infos) + size - 1) // size, 1)
        return {"PageNo": page, "PageCount": pages, "ItemSize": len(infos),
                "StationInfos": infos[(page - 1) * size : page * size]}  # fmt: skip

    def _station_info(self, sid: str, name: str, address: str, lng: str, lat: str) -> dict:
        connectors = [
            {"ConnectorID": f"{sid}-{n}", "ConnectorName": f"{n} 号枪", "ConnectorType": 4,
             "VoltageUpperLimits": 750, "VoltageLowerLimits": 200, "Current": 125,
             "Power": POWER_W / 1000, "NationalStandard": 2}
            for n in range(1, GUNS_PER_STATION + 1)
        ]  # fmt: skip
        return {
            "StationID": sid, "OperatorID": self.operator_id,
            "EquipmentOwnerID": self.operator_id, "StationName": name, "CountryCode": "CN",
            "AreaCode": "440300", "Address": address, "ServiceTel": "400-000-0009",
            "StationType": 1, "StationStatus": 50, "ParkNums": 4, "StationLng": float(lng),
            "StationLat": float(lat), "Construction": 1, "BusinessHours": "00:00-24:00",
            "EquipmentInfos": [{"EquipmentID": f"{sid}-P1", "EquipmentType": 1,
                                "Power": POWER_W * GUNS_PER_STATION / 1000,
                                "ConnectorInfos": connectors}],
        }  # fmt: skip

    def _status_of(self, connector: str) -> int:
        busy = any(s.connector == connector and s.state != FINISHED for s in self.sessions.values())
        return 3 if busy else 1  # 3 占用（充电中）, 1 空闲

    def _query_station_status(self, data: dict[str, Any]) -> dict[str, Any]:
        wanted = {str(s) for s in env.field(data, "StationIDs", []) or []}
        infos = [
            {"StationID": sid, "ConnectorStatusInfos": [
                {"ConnectorID": f"{sid}-{n}", "Status": self._status_of(f"{sid}-{n}")}
                for n in range(1, GUNS_PER_STATION + 1)]}
            for sid, *_ in STATIONS if sid in wanted
        ]  # fmt: skip
        return {"Total": len(infos), "StationStatusInfos": infos}

    def _query_equip_business_policy(self, data: dict[str, Any]) -> dict[str, Any]:
        cid = str(env.field(data, "ConnectorID", ""))
        known = cid in connector_ids()
        return {
            "EquipBizSeq": env.field(data, "EquipBizSeq", ""), "ConnectorID": cid,
            "SuccStat": 0 if known else 1, "FailReason": 0 if known else 1,
            "SumPeriod": len(POLICY) if known else 0,
            "PolicyInfos": [{"StartTime": t, "ElecPrice": float(e), "ServicePrice": float(s)}
                            for t, e, s in POLICY] if known else [],
        }  # fmt: skip

    def _query_equip_auth(self, data: dict[str, Any]) -> dict[str, Any]:
        cid = str(env.field(data, "ConnectorID", ""))
        fail = 0 if cid in connector_ids() and self._status_of(cid) == 1 else 2  # 2 设备检测失败
        return {"EquipAuthSeq": env.field(data, "EquipAuthSeq", ""), "ConnectorID": cid,
                "SuccStat": 1 if fail else 0, "FailReason": fail}  # fmt: skip

    def _query_start_charge(self, data: dict[str, Any]) -> dict[str, Any]:
        seq, cid = (
            str(env.field(data, "StartChargeSeq", "")),
            str(env.field(data, "ConnectorID", "")),
        )
        session = self.sessions.get(seq)
        if session is None:  # a repeated StartChargeSeq is the same start
            if cid not in connector_ids() or self._status_of(cid) != 1 or len(seq) != 27:
                return {"StartChargeSeq": seq, "StartChargeSeqStat": 5, "ConnectorID": cid,
                        "SuccStat": 1, "FailReason": 2}  # fmt: skip
            session = self.sessions[seq] = Session(seq, cid, self.clock())
            self._later(self.start_delay_s, "start", seq)
        return {"StartChargeSeq": seq, "StartChargeSeqStat": session.state, "ConnectorID": cid,
                "SuccStat": 0, "FailReason": 0}  # fmt: skip

    def _query_equip_charge_status(self, data: dict[str, Any]) -> dict[str, Any]:
        session = self.sessions.get(str(env.field(data, "StartChargeSeq", "")))
        if session is None:
            raise EnvelopeError(Ret.PARAMETERS, "StartChargeSeq 不存在")
        return self._status_payload(session)

    def _query_stop_charge(self, data: dict[str, Any]) -> dict[str, Any]:
        seq = str(env.field(data, "StartChargeSeq", ""))
        session = self.sessions.get(seq)
        if session is None or session.state in (STOPPING, FINISHED):
            return {"StartChargeSeq": seq, "StartChargeSeqStat": session.state if session else 5,
                    "SuccStat": 1, "FailReason": 3 if session else 2}  # fmt: skip
        session.state = STOPPING
        self._later(self.start_delay_s, "stop", seq)
        return {"StartChargeSeq": seq, "StartChargeSeqStat": STOPPING, "SuccStat": 0,
                "FailReason": 0}  # fmt: skip

    def _status_payload(self, session: Session) -> dict[str, Any]:
        now = self.clock()
        elec, service = session.money(now)
        return {
            "StartChargeSeq": session.seq, "StartChargeSeqStat": session.state,
            "ConnectorID": session.connector,
            "ConnectorStatus": 3 if session.state in (CHARGING, STOPPING) else 1,
            "CurrentA": 60.0 if session.state == CHARGING else 0.0, "VoltageA": 500.0,
            "Soc": min(20 + session.energy_wh(now) // 500, 100),
            "StartTime": _stamp(session.started_at), "EndTime": _stamp(session.stopped_at or now),
            "TotalPower": session.energy_wh(now) / 1000, "ElecMoney": _yuan(elec),
            "ServiceMoney": _yuan(service), "TotalMoney": _yuan(elec + service),
        }  # fmt: skip

    def bill(self, session: Session) -> dict[str, Any]:
        """notification_charge_order_info of a finished session: its totals and one detail
        period that adds up to them."""
        now = self.clock()
        elec, service = session.money(now)
        start, _, _ = period_at(session.started_at or session.accepted_at)
        price = next((e, s) for t, e, s in POLICY if t == start)
        kwh = session.energy_wh(now) / 1000
        return {
            "StartChargeSeq": session.seq, "ConnectorID": session.connector,
            "StartTime": _stamp(session.started_at), "EndTime": _stamp(session.stopped_at),
            "TotalPower": kwh, "TotalElecMoney": _yuan(elec), "TotalServiceMoney": _yuan(service),
            "TotalMoney": _yuan(elec + service), "StopReason": 0, "SumPeriod": 1,
            "ChargeDetails": [{
                "DetailStartTime": _stamp(session.started_at),
                "DetailEndTime": _stamp(session.stopped_at), "ElecPrice": float(price[0]),
                "ServicePrice": float(price[1]), "DetailPower": kwh,
                "DetailElecMoney": _yuan(elec), "DetailServiceMoney": _yuan(service),
            }],
        }  # fmt: skip

    # ------------------------------------------------------------------ pushes to us

    def _later(self, delay_s: float, what: str, seq: str) -> None:
        with self._wake:
            heapq.heappush(self._queue, (time.monotonic() + delay_s, next(self._order), what, seq))
            self._wake.notify()

    def start_worker(self) -> None:
        """The thread that moves sessions on and pushes their notifications (a greenlet
        under gevent's patching); daemon, so that it never holds a stopping process."""
        self._worker = threading.Thread(target=self._run, name="hlht-sandbox", daemon=True)
        self._worker.start()

    def stop_worker(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and (
                    not self._queue or self._queue[0][0] > time.monotonic()
                ):
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._wake.wait(timeout=wait)
                if self._stopping:
                    return
                _, _, what, seq = heapq.heappop(self._queue)
            try:
                self.step(what, seq)
            except Exception:  # a failed push is logged and the sandbox goes on
                log.exception("hlht sandbox push failed", extra={"what": what, "seq": seq})

    def step(self, what: str, seq: str) -> None:
        """One move of a session and the notification it makes (the worker's job; tests
        call it directly to move a session without waiting)."""
        with self._lock:
            session = self.sessions[seq]
            if what == "start" and session.state == STARTING:
                session.state, session.started_at = CHARGING, self.clock()
                push = ("notification_start_charge_result",
                        {"StartChargeSeq": seq, "StartChargeSeqStat": CHARGING,
                         "ConnectorID": session.connector,
                         "StartTime": _stamp(session.started_at)})  # fmt: skip
                self._later(self.status_every_s, "status", seq)
            elif what == "status" and session.state == CHARGING:
                push = ("notification_equip_charge_status", self._status_payload(session))
                self._later(self.status_every_s, "status", seq)
            elif what == "stop" and session.state == STOPPING:
                session.state, session.stopped_at = FINISHED, self.clock()
                push = ("notification_stop_charge_result",
                        {"StartChargeSeq": seq, "StartChargeSeqStat": FINISHED,
                         "ConnectorID": session.connector, "SuccStat": 0,
                         "FailReason": 0})  # fmt: skip
                self._later(self.start_delay_s, "bill", seq)
            elif what == "bill" and session.state == FINISHED:
                push = ("notification_charge_order_info", self.bill(session))
            else:
                return
        self.push(*push)

    def push(self, interface: str, payload: dict[str, Any]) -> int:
        """One notification to our platform as the partner: a token from our query_token
        when it has none or ours refused it (4002), then the call. Returns Ret."""
        if not self._token:
            self._token = self._fetch_token()
        ret = self._post(interface, payload, self._token)
        if ret == Ret.TOKEN:
            self._token = self._fetch_token()
            ret = self._post(interface, payload, self._token)
        self.pushed.append((interface, ret))
        return ret

    _seq = env.SeqCounter()

    def _call(self, interface: str, payload: Any, token: str) -> tuple[int, Any]:
        stamp = env.timestamp(datetime.now(CHINA))
        body = env.build_request(
            self.operator_id, env.spell(payload), self.keys, stamp=stamp, seq=self._seq.next(stamp)
        )
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = self._http.post(
            f"{self.platform_base}/evcs/v1/{interface}", json=body, headers=headers, timeout=10
        )
        ret, _, data = env.open_response(resp.json(), self.keys)
        return ret, data

    def _fetch_token(self) -> str:
        ret, data = self._call(
            "query_token", {"OperatorID": self.operator_id, "OperatorSecret": self.own_secret}, ""
        )
        if ret != Ret.OK or not isinstance(data, dict):
            raise RuntimeError(f"our platform refused the sandbox's query_token: Ret={ret}")
        return str(env.field(data, "AccessToken", ""))

    def _post(self, interface: str, payload: Any, token: str) -> int:
        ret, _ = self._call(interface, payload, token)
        return ret


def mount(app: Flask, sandbox: PartnerSandbox) -> None:
    """``POST /sandbox/hlht/evcs/v1/<interface>`` on this app, answered by ``sandbox``."""
    bp = Blueprint("hlht_sandbox", __name__, url_prefix=MOUNT_PREFIX)

    @bp.post("/evcs/v1/<interface>")
    def call(interface: str) -> Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else ""
        return jsonify(sandbox.answer(interface, request.get_json(silent=True), bearer))

    app.register_blueprint(bp)
    app.extensions[_EXTENSION] = sandbox


def mounted(app: Flask) -> PartnerSandbox | None:
    found = app.extensions.get(_EXTENSION)
    return found if isinstance(found, PartnerSandbox) else None
