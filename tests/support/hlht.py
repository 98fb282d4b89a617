"""A partner platform as our tests play it: it registers with us, calls our
``/evcs/v1/`` over the envelope and reads our answers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from typing import Any

import requests
import requests.adapters
from flask.testing import FlaskClient

from app.hlht import envelope as env
from app.hlht import partners
from app.hlht.envelope import CHINA, Keys
from app.hlht.models import Partner

PARTNER_OPERATOR_ID = "MA07TEST1"
PARTNER_KEYS = Keys("k1k2k3k4k5k6k7k8", "i1i2i3i4i5i6i7i8", "s1s2s3s4s5s6s7s8")
PARTNER_SECRET = "partner-secret-1"
_seq = count(1)


def register_partner(
    operator_id: str = PARTNER_OPERATOR_ID, *, base_url: str = "", share: str = "all"
) -> Partner:
    return partners.add_partner(
        {
            "operator_id": operator_id,
            "name": "测试互联平台",
            "base_url": base_url,
            "roles": "emsp,cpo",
            "operator_secret": PARTNER_SECRET,
            "our_operator_secret": "our-secret-1",
            "data_secret": PARTNER_KEYS.data_secret,
            "data_iv": PARTNER_KEYS.data_iv,
            "sig_secret": PARTNER_KEYS.sig_secret,
            "share_stations": share,
        }
    )


@dataclass
class PartnerCaller:
    """``call(interface, data)`` → (Ret, decoded Data), the answer's signature checked."""

    client: FlaskClient
    operator_id: str = PARTNER_OPERATOR_ID
    keys: Keys = PARTNER_KEYS
    token: str = ""
    seqs: list[str] = field(default_factory=list)

    def login(self) -> str:
        ret, data = self.call(
            "query_token",
            {"OperatorID": self.operator_id, "OperatorSecret": PARTNER_SECRET},
            token="",
        )
        assert ret == 0 and data["SuccStat"] == 0, data
        self.token = str(data["AccessToken"])
        return self.token

    def call(self, interface: str, data: Any, *, token: str | None = None) -> tuple[int, Any]:
        stamp = env.timestamp(datetime.now(CHINA))
        body = env.build_request(
            self.operator_id, data, self.keys, stamp=stamp, seq=f"{next(_seq) % 10000:04d}"
        )
        bearer = self.token if token is None else token
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        resp = self.client.post(f"/evcs/v1/{interface}", json=body, headers=headers)
        assert resp.status_code == 200
        answer = resp.get_json()
        if not answer["Sig"]:
            return int(answer["Ret"]), None
        ret, _, decoded = env.open_response(answer, self.keys)
        return ret, decoded

    def seq(self) -> str:
        """A fresh 27-character sequence number of this partner."""
        value = env.sequence_number(self.operator_id, datetime.now(CHINA))
        self.seqs.append(value)
        return value


class FakePartnerPlatform(requests.adapters.BaseAdapter):
    """A partner's ``/evcs/v1/`` in memory, mounted on a requests session: it issues us
    tokens, decodes what we send (``received``: (interface, Data)) and answers what
    ``answers`` says per interface (a Data dict, or a Ret int to refuse with); by
    default ``SuccStat`` 0 / ``Status`` 0 / ``ConfirmResult`` 0."""

    def __init__(self, keys: Keys = PARTNER_KEYS, our_secret: str = "our-secret-1") -> None:
        super().__init__()
        self.keys = keys
        self.our_secret = our_secret
        self.tokens: list[str] = []
        self.received: list[tuple[str, Any]] = []
        self.answers: dict[str, list[Any]] = {}
        self.revoked: set[str] = set()

    def session(self) -> requests.Session:
        http = requests.Session()
        http.mount("http://partner.test", self)
        return http

    def interfaces(self) -> list[str]:
        return [name for name, _ in self.received]

    def _default(self, interface: str, data: dict[str, Any]) -> dict[str, Any]:
        if interface == "notification_stationStatus":
            return {"Status": 0}
        if interface == "notification_charge_order_info":
            return {"StartChargeSeq": data.get("StartChargeSeq"), "ConfirmResult": 0}
        if interface == "check_charge_orders":
            return {"CheckOrderSeq": data.get("CheckOrderSeq"), "DisputeOrders": []}
        return {"StartChargeSeq": data.get("StartChargeSeq"), "SuccStat": 0, "FailReason": 0}

    def send(self, request: Any, **kw: Any) -> requests.Response:  # type: ignore[override]
        interface = request.url.rsplit("/", 1)[-1]
        body = json.loads(request.body)
        assert env.signature_matches(
            self.keys.sig_secret, body["Sig"], body["OperatorID"], body["Data"],
            body["TimeStamp"], body["Seq"],
        )  # fmt: skip
        data = env.decode_data(body["Data"], self.keys)
        if interface == "query_token":
            assert data["OperatorSecret"] == self.our_secret
            token = f"token-{len(self.tokens) + 1}"
            self.tokens.append(token)
            answer = env.build_response(
                env.Ret.OK, "", {"OperatorID": data["OperatorID"], "SuccStat": 0,
                                 "AccessToken": token, "TokenAvailableTime": 7200,
                                 "FailReason": 0}, self.keys,
            )  # fmt: skip
            return self._response(request, answer)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens or token in self.revoked:
            return self._response(request, env.build_response(env.Ret.TOKEN, "token", None, None))
        self.received.append((interface, data))
        queued = self.answers.get(interface) or []
        planned = queued.pop(0) if queued else None
        if isinstance(planned, int):
            answer = env.build_response(env.Ret(planned), "refused", None, None)
        else:
            answer = env.build_response(
                env.Ret.OK, "", planned or self._default(interface, data), self.keys
            )
        return self._response(request, answer)

    def _response(self, request: Any, answer: dict[str, Any]) -> requests.Response:
        resp = requests.Response()
        resp.status_code = 200
        resp._content = json.dumps(answer).encode()
        resp.headers["Content-Type"] = "application/json"
        resp.request = request
        resp.url = request.url
        return resp

    def close(self) -> None:
        pass
