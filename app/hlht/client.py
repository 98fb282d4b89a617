"""Calling a partner's ``/evcs/v1/`` (T/CEC 102.4) as its client: our OperatorID, the
outbound keys, the AccessToken it issued us (query_token, kept until it expires), and on
4002 a new token and one retry — never a blind retry of a start or a stop: those come
back with the 4002 for the caller to query the order's status first."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests

from app.config import setting
from app.db import utcnow
from app.extensions import db
from app.hlht import envelope
from app.hlht.envelope import CHINA, EnvelopeError, Ret, SeqCounter
from app.hlht.models import Partner
from app.hlht.partners import TOKEN_TTL, outbound_keys
from app.uow import transactional

log = logging.getLogger(__name__)

_SEQ = SeqCounter()
# a start or a stop repeated blindly could start or stop twice (or another session)
NOT_REPEATABLE = frozenset({"query_start_charge", "query_stop_charge"})


class PartnerUnreachable(Exception):
    """No answer we can read: the network, an HTTP error, not the envelope, a bad Sig."""


@dataclass(frozen=True, slots=True)
class Answer:
    ret: int
    msg: str
    data: Any

    @property
    def ok(self) -> bool:
        return self.ret == Ret.OK


def our_operator_id() -> str:
    return str(setting("HLHT_OPERATOR_ID"))


@transactional
def _keep_token(partner_id: int, token: str, expires_at: datetime | None) -> None:
    partner = db.session.get(Partner, partner_id)
    if partner is not None:
        partner.out_token = token
        partner.out_token_expires_at = expires_at


class PartnerClient:
    """One partner's interfaces. Call outside any unit of work: the token it fetches is
    kept in its own."""

    def __init__(self, partner: Partner, http: requests.Session | None = None) -> None:
        self.partner_id = partner.id
        self.base_url = partner.base_url.rstrip("/")
        self.keys = outbound_keys(partner)
        self.secret = partner.our_operator_secret
        self.dialect = partner.dialect
        self.token = partner.out_token
        self.token_expires_at = partner.out_token_expires_at
        self.http = http or requests.Session()
        self.timeout = float(setting("HLHT_HTTP_TIMEOUT_SECONDS"))

    def _post(self, interface: str, payload: Any, token: str) -> Answer:
        if not self.base_url:
            raise PartnerUnreachable("合作平台未配置接口地址")
        stamp = envelope.timestamp(datetime.now(CHINA))
        body = envelope.build_request(
            our_operator_id(), payload, self.keys, stamp=stamp, seq=_SEQ.next(stamp)
        )
        headers = {"Content-Type": "application/json;charset=utf-8"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            resp = self.http.post(
                f"{self.base_url}/evcs/v1/{interface}", json=body, headers=headers,
                timeout=self.timeout,
            )  # fmt: skip
            resp.raise_for_status()
            ret, msg, data = envelope.open_response(resp.json(), self.keys)
        except (requests.RequestException, ValueError, EnvelopeError) as err:
            raise PartnerUnreachable(f"{type(err).__name__}: {err}"[:300]) from None
        return Answer(ret, msg, envelope.canonical(data) if data is not None else None)

    def fetch_token(self) -> str:
        """query_token against the partner; kept until it expires (7 days at most)."""
        answer = self._post(
            "query_token", {"OperatorID": our_operator_id(), "OperatorSecret": self.secret}, ""
        )
        data = answer.data if isinstance(answer.data, dict) else {}
        if not answer.ok or envelope.field(data, "SuccStat") not in (0, "0"):
            raise PartnerUnreachable(
                f"query_token 失败：Ret={answer.ret} {answer.msg} "
                f"FailReason={envelope.field(data, 'FailReason')}"
            )
        token = str(envelope.field(data, "AccessToken", ""))
        try:
            seconds = int(envelope.field(data, "TokenAvailableTime", 0))
        except (TypeError, ValueError):
            seconds = 0
        lifetime = min(timedelta(seconds=max(seconds, 0)), TOKEN_TTL)
        # renewed a minute early: a token must not lapse between our check and its answer
        self.token_expires_at = utcnow() + lifetime - timedelta(minutes=1)
        self.token = token
        _keep_token(self.partner_id, token, self.token_expires_at)
        return token

    def _valid_token(self) -> str:
        if self.token and self.token_expires_at is not None and self.token_expires_at > utcnow():
            return self.token
        return self.fetch_token()

    def call(self, interface: str, payload: Any) -> Answer:
        """One interface call; on 4002 a new token and one retry, but for a start or a
        stop: their 4002 comes back (with a new token ready) for the caller to query the
        order's status before it asks again."""
        answer = self._post(interface, payload, self._valid_token())
        if answer.ret != Ret.TOKEN:
            return answer
        log.info("hlht token refused: fetching a new one", extra={"interface": interface})
        self.fetch_token()
        if interface in NOT_REPEATABLE:
            return answer
        return self._post(interface, payload, self.token)
