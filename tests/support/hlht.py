"""A partner platform as our tests play it: it registers with us, calls our
``/evcs/v1/`` over the envelope and reads our answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from typing import Any

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
