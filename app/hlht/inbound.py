"""``POST /evcs/v1/<interface>``: the interconnection face partners call (T/CEC 102.4).

Always HTTP 200 with ``{Ret, Msg, Data, Sig}``; the pipeline refuses in the standard's
order and changes nothing when it refuses: the five envelope fields (4003), the partner
and its signature (4001), replay and clock (4003), the Data (4004), the Bearer token on
every interface but ``query_token`` (4002), the interface's own parameters (4004)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from app.hlht import business, customer, envelope, partners
from app.hlht.envelope import CHINA, EnvelopeError, Keys, ReplayGuard, Ret
from app.hlht.pile_owner import HANDLERS as PUBLIC_HANDLERS
from app.hlht.pile_owner import BusinessError
from app.hlht.replay import replay_guard
from app.state import Slot, part, state_of
from app.uow import unit_of_work

log = logging.getLogger(__name__)

HANDLERS = {**PUBLIC_HANDLERS, **business.HANDLERS, **customer.HANDLERS}
REPLAY_GUARD: Slot[ReplayGuard] = Slot("T/CEC 102 replay guard")

bp = Blueprint("hlht", __name__, url_prefix="/evcs/v1")


def _answer(ret: Ret, msg: str, data: Any = None, keys: Keys | None = None) -> Response:
    return jsonify(envelope.build_response(ret, msg, data, keys))


@bp.post("/<interface>")
def call(interface: str) -> Response:
    body = request.get_json(silent=True)
    keys: Keys | None = None
    try:
        req = envelope.open_request(
            body, partners.inbound_keys, guard=part(REPLAY_GUARD), now=datetime.now(CHINA)
        )
        keys = partners.inbound_keys(req.operator_id)
        partner = partners.by_operator_id(req.operator_id)
        assert partner is not None and keys is not None
        if interface != "query_token":
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            holder = (
                partners.partner_for_token(token.strip()) if scheme.lower() == "bearer" else None
            )
            if holder is None or holder.id != partner.id:
                raise EnvelopeError(Ret.TOKEN, "Token 无效或已过期，请重新调用 query_token")
        handler = HANDLERS.get(interface)
        if handler is None:
            raise BusinessError(f"接口 {interface} 不存在")
        if not isinstance(req.data, dict):
            raise BusinessError("Data 应为 JSON 对象")
        if interface in business.COMMANDING:  # it owns its units of work
            data = handler(partner, envelope.canonical(req.data))
        else:
            with unit_of_work():
                data = handler(partner, envelope.canonical(req.data))
        return _answer(Ret.OK, "成功", envelope.spell(data, partner.dialect), keys)
    except EnvelopeError as err:
        if err.ret is Ret.SIGNATURE:
            keys = None  # an answer signed for someone we could not verify tells nothing
        log.info("hlht request refused", extra={"interface": interface, "ret": int(err.ret)})
        return _answer(err.ret, err.msg, None, keys)
    except BusinessError as err:
        return _answer(Ret.PARAMETERS, err.msg, None, keys)
    except Exception:
        log.exception("hlht request failed", extra={"interface": interface})
        return _answer(Ret.SYSTEM, "系统错误", None, keys)


def register(app: Flask) -> None:
    """Mount the interconnection face (``wsgi.compose``)."""
    state_of(app)[REPLAY_GUARD] = replay_guard(app.config["REDIS_URL"])
    app.register_blueprint(bp)
