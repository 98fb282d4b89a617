"""Drivers' login: ``wx.login`` code → code2session → the driver (created on first login
under the sub-operator whose mini-program it is) → an expiring signed token; phone binding
through the ``getPhoneNumber`` code."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.config import setting
from app.db import utcnow
from app.drivers import members, sessions
from app.errors import (
    AUTH_TOKEN_EXPIRED,
    AUTH_TOKEN_INVALID,
    DRIVER_ALREADY_DISABLED,
    DRIVER_DISABLED,
    DRIVER_NOT_DISABLED,
    MINIPROGRAM_UNKNOWN,
    REASON_REQUIRED,
    TOKEN_REVOKED,
    WECHAT_CODE_INVALID,
    WECHAT_PHONE_CODE_INVALID,
    WECHAT_UNAVAILABLE,
    DomainError,
)
from app.extensions import db
from app.promotions import coupons
from app.tenancy import audit
from app.tenancy.models import Driver, Operator
from app.tenancy.scope import Actor, get_scoped
from app.tenancy.wechat_accounts import (
    endpoints,
    mini_program_of,
    official_account_of,
    operator_for_app,
    operator_for_official_account,
    token_store,
)
from app.uow import transactional, unit_of_work
from app.wechat import miniprogram
from app.wechat.errors import WeChatError

log = logging.getLogger(__name__)

_SALT = "evop.driver-token"

# code2session: 40029 invalid code, 40163 code used, 40226 risky user
_BAD_CODE_ERRCODES = frozenset({40029, 40163, 40226})


def _wechat_failure(exc: WeChatError, what: str) -> DomainError:
    if what == "getuserphonenumber" and exc.errcode in (40029, 40013):
        return WECHAT_PHONE_CODE_INVALID(details={"errcode": exc.errcode})
    if exc.errcode in _BAD_CODE_ERRCODES:
        return WECHAT_CODE_INVALID(details={"errcode": exc.errcode})
    log.warning("wechat %s failed errcode=%s", what, exc.errcode)
    return WECHAT_UNAVAILABLE(details={"errcode": exc.errcode})


@dataclass(frozen=True, slots=True)
class DriverLogin:
    access_token: str
    expires_in: int
    driver: Driver
    operator: Operator
    created: bool


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(setting("SECRET_KEY"), salt=_SALT)


def token_ttl() -> int:
    return int(setting("DRIVER_TOKEN_TTL"))


def issue_token(driver: Driver) -> str:
    if driver.disabled_at is not None:
        raise DRIVER_DISABLED(details={"reason": driver.disabled_reason})
    return str(
        _serializer().dumps({"d": driver.id, "o": driver.operator_id, "v": driver.token_version})
    )


def _find(operator_id: int, openid: str) -> Driver | None:
    return db.session.scalar(
        select(Driver).where(Driver.operator_id == operator_id, Driver.openid == openid)
    )


def login(code: str, app_id: str) -> DriverLogin:
    """Log a driver in; the first login creates the driver (with wallet and any
    registration coupons) under the operator owning ``app_id``. Commits."""
    op = operator_for_app(app_id)
    try:
        session = miniprogram.code2session(mini_program_of(op), code, endpoints=endpoints())
    except WeChatError as exc:
        raise _wechat_failure(exc, "code2session") from None
    driver = _find(op.id, session.openid)
    created = False
    if driver is None and session.unionid:
        # met first in the official account's H5 pages: the same person (unionid)
        same = _find_union(op.id, session.unionid)
        if same is not None and same.openid is None:
            with unit_of_work():
                same.openid = session.openid
            driver = same
    if driver is None:
        try:
            with unit_of_work():
                driver = members.create_driver(
                    op.id, openid=session.openid, unionid=session.unionid
                )
                coupons.grant_on_registration(driver)
            created = True
        except IntegrityError:  # the same driver logging in twice at once
            driver = _find(op.id, session.openid)
            if driver is None:  # pragma: no cover - the unique row must exist now
                raise
    elif session.unionid and driver.unionid != session.unionid:
        with unit_of_work():
            driver.unionid = session.unionid
    log.info("driver login driver_id=%s operator_id=%s created=%s", driver.id, op.id, created)
    return DriverLogin(issue_token(driver), token_ttl(), driver, op, created)


def _find_union(operator_id: int, unionid: str) -> Driver | None:
    return db.session.scalar(
        select(Driver)
        .where(Driver.operator_id == operator_id, Driver.unionid == unionid)
        .order_by(Driver.id)
        .limit(1)
    )


def _find_oa(operator_id: int, oa_openid: str) -> Driver | None:
    return db.session.scalar(
        select(Driver).where(Driver.operator_id == operator_id, Driver.oa_openid == oa_openid)
    )


def login_official_account(code: str, app_id: str) -> DriverLogin:
    """Log a driver in from the H5 pages: the code of the official account's web
    authorization (snsapi_base) → openid under the account; the driver is the one of the
    mini-program when WeChat gives the same unionid, else a new one. Commits."""
    op = operator_for_official_account(app_id)
    try:
        who = miniprogram.web_authorization(official_account_of(op), code, endpoints=endpoints())
    except WeChatError as exc:
        raise _wechat_failure(exc, "oauth2") from None
    driver = _find_oa(op.id, who.openid)
    created = False
    if driver is None and who.unionid:
        driver = _find_union(op.id, who.unionid)
        if driver is not None:
            with unit_of_work():
                driver.oa_openid = who.openid
    if driver is None:
        try:
            with unit_of_work():
                driver = members.create_driver(op.id, unionid=who.unionid)
                driver.oa_openid = who.openid
                coupons.grant_on_registration(driver)
            created = True
        except IntegrityError:  # the same driver logging in twice at once
            driver = _find_oa(op.id, who.openid)
            if driver is None:  # pragma: no cover - the unique row must exist now
                raise
    log.info("driver h5 login driver_id=%s operator_id=%s created=%s", driver.id, op.id, created)
    return DriverLogin(issue_token(driver), token_ttl(), driver, op, created)


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a valid driver token says: checked by signature and age, no database read."""

    driver_id: int
    operator_id: int
    version: int = 1  # tokens issued before versions existed carry none: version 1


def claims_for_token(token: str) -> TokenClaims:
    try:
        data = _serializer().loads(token, max_age=token_ttl())
    except SignatureExpired as exc:
        raise AUTH_TOKEN_EXPIRED() from exc
    except BadSignature as exc:
        raise AUTH_TOKEN_INVALID() from exc
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("d"), int)
        or not isinstance(data.get("o"), int)
    ):
        raise AUTH_TOKEN_INVALID()
    version = data.get("v", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise AUTH_TOKEN_INVALID()
    return TokenClaims(data["d"], data["o"], version)


def check_session(claims: TokenClaims) -> None:
    """The token's session is still open: its driver exists under its operator, is not
    disabled (403 DRIVER_DISABLED) and has not ended its sessions since the token was
    issued (401 TOKEN_REVOKED). One cached or one database read, never the driver's row."""
    state = sessions.lookup(claims.driver_id)
    if state is None or state.operator_id != claims.operator_id:
        raise AUTH_TOKEN_INVALID()
    if state.disabled:
        raise DRIVER_DISABLED()
    if claims.version != state.version:
        raise TOKEN_REVOKED()


def driver_of(claims: TokenClaims) -> Driver:
    driver = db.session.get(Driver, claims.driver_id)
    if driver is None or driver.operator_id != claims.operator_id:
        raise AUTH_TOKEN_INVALID()
    return driver


def driver_for_token(token: str) -> Driver:
    claims = claims_for_token(token)
    check_session(claims)
    return driver_of(claims)


def _end_sessions(driver: Driver) -> None:
    """Every token issued so far stops working (the caller commits, then publishes)."""
    driver.token_version = (driver.token_version or 1) + 1


def logout(driver_id: int) -> None:
    """The driver logs out: this token and every other one of theirs end. Commits."""
    with unit_of_work():
        driver = db.session.get(Driver, driver_id, with_for_update=True)
        if driver is None:  # pragma: no cover - the token was checked just before
            raise AUTH_TOKEN_INVALID()
        _end_sessions(driver)
    sessions.publish(driver)
    log.info("driver logout driver_id=%s version=%s", driver.id, driver.token_version)


def disable_driver(actor: Actor, driver_id: int, reason: str) -> Driver:
    """An admin disables a member: every session ends at once, logins are refused until
    enabled again. member.write, scoped to the actor's operators, audited. Commits."""
    actor.require("member.write")
    reason = reason.strip()
    if not reason:
        raise REASON_REQUIRED(details={"reason": ["必填"]})
    with unit_of_work():
        driver = get_scoped(Driver, driver_id, actor, what="会员")
        db.session.refresh(driver, with_for_update=True)
        if driver.disabled_at is not None:
            raise DRIVER_ALREADY_DISABLED(details={"disabled_at": driver.disabled_at.isoformat()})
        driver.disabled_at, driver.disabled_reason = utcnow(), reason[:200]
        _end_sessions(driver)
        audit.record(
            actor, "member.disable", "driver", driver.id, operator_id=driver.operator_id,
            before={"disabled": False}, after={"disabled": True}, reason=reason[:200],
        )  # fmt: skip
    sessions.publish(driver)
    return driver


def enable_driver(actor: Actor, driver_id: int, reason: str = "") -> Driver:
    """An admin enables a disabled member again (the driver logs in afresh). Commits."""
    actor.require("member.write")
    with unit_of_work():
        driver = get_scoped(Driver, driver_id, actor, what="会员")
        db.session.refresh(driver, with_for_update=True)
        if driver.disabled_at is None:
            raise DRIVER_NOT_DISABLED()
        before = {"disabled": True, "disabled_reason": driver.disabled_reason}
        driver.disabled_at, driver.disabled_reason = None, ""
        _end_sessions(driver)  # a token from before the disable stays dead
        audit.record(
            actor, "member.enable", "driver", driver.id, operator_id=driver.operator_id,
            before=before, after={"disabled": False}, reason=reason.strip()[:200],
        )  # fmt: skip
    sessions.publish(driver)
    return driver


@transactional
def bind_phone(driver: Driver, code: str) -> Driver:
    """Bind the phone number behind a ``getPhoneNumber`` code. Commits."""
    op = db.session.get(Operator, driver.operator_id)
    if op is None or not op.wechat_app_id or not op.wechat_app_secret:
        raise MINIPROGRAM_UNKNOWN()
    try:
        phone = miniprogram.get_phone_number(
            mini_program_of(op), code, endpoints=endpoints(), store=token_store()
        )
    except WeChatError as exc:
        raise _wechat_failure(exc, "getuserphonenumber") from None
    driver.phone = phone[:20]
    return driver
