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
from app.drivers import members
from app.errors import (
    AUTH_TOKEN_EXPIRED,
    AUTH_TOKEN_INVALID,
    MINIPROGRAM_UNKNOWN,
    WECHAT_CODE_INVALID,
    WECHAT_PHONE_CODE_INVALID,
    WECHAT_UNAVAILABLE,
    DomainError,
)
from app.extensions import db
from app.promotions import coupons
from app.tenancy.models import Driver, Operator
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
    return str(_serializer().dumps({"d": driver.id, "o": driver.operator_id}))


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
    return TokenClaims(data["d"], data["o"])


def driver_of(claims: TokenClaims) -> Driver:
    driver = db.session.get(Driver, claims.driver_id)
    if driver is None or driver.operator_id != claims.operator_id:
        raise AUTH_TOKEN_INVALID()
    return driver


def driver_for_token(token: str) -> Driver:
    return driver_of(claims_for_token(token))


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
