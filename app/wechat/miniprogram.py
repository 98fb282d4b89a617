"""Mini-program and official-account APIs through wechatpy, at a configurable base URL.

wechatpy (1.8.18) supplies the endpoint paths, payload shapes and errcode handling. Worked
around here: its token URL is hard-coded to api.weixin.qq.com and fetched without a
timeout (``fetch_access_token`` is replaced); ``wxa`` has its own hard-coded base URL
(set per client); ``code_to_session`` would first fetch an access token it does not need
(code2session is called directly); its automatic retry on an expired token recurses
without bound (ours retries once); ``MemoryStorage`` ignores expiry (ours honours it); and
it has no ``getuserphonenumber`` (posted through the client).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import requests
from wechatpy.client import WeChatClient
from wechatpy.exceptions import WeChatClientException

from app.wechat.config import (
    DEFAULT_ENDPOINTS,
    MiniProgramApp,
    OfficialAccountApp,
    WeChatEndpoints,
)
from app.wechat.errors import BAD_RESPONSE, HTTP_ERROR, NETWORK_ERROR, WeChatError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
# access token: valid 7200 s; refresh a little early so a token never dies mid-request
TOKEN_EARLY_REFRESH = 300
# 40001 invalid credential, 40014 invalid access_token, 42001 access_token expired
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})

T = TypeVar("T")


class TokenStore(Protocol):
    """Where access tokens live between calls; Redis or the database in production.

    Same shape as wechatpy's ``SessionStorage``. ``set`` must honour ``ttl`` seconds.
    """

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any, ttl: int | None = None) -> None: ...

    def delete(self, key: str) -> None: ...


def refresh_lock(store: TokenStore, key: str) -> AbstractContextManager[object]:
    """The store's lock for refreshing ``key`` (one refresher at a time across the
    processes that share the store), or none for a store that has no lock."""
    lock = getattr(store, "refresh_lock", None)
    return lock(key) if lock is not None else nullcontext()


class MemoryTokenStore:
    """Process-local token store with expiry. Thread-safe.

    One process per app is fine; several processes each fetch their own token, and a
    fetch invalidates the previous token after 5 minutes (WeChat 「获取接口调用凭据」), so
    a multi-process deployment shares a store instead.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._data: dict[str, tuple[Any, float | None]] = {}
        self._refresh_locks: dict[str, threading.Lock] = {}

    def refresh_lock(self, key: str) -> threading.Lock:
        """One thread of this process refreshes ``key`` at a time."""
        with self._lock:
            return self._refresh_locks.setdefault(key, threading.Lock())

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return default
            value, expires = item
            if expires is not None and self._clock() >= expires:
                del self._data[key]
                return default
            return value

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        with self._lock:
            expires = None if ttl is None else self._clock() + ttl
            self._data[key] = (value, expires)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


DEFAULT_TOKEN_STORE = MemoryTokenStore()


@dataclass(frozen=True)
class Session:
    """code2session's answer. ``session_key`` decrypts wx.getUserInfo data: keep it secret."""

    openid: str
    unionid: str | None
    session_key: str = field(repr=False)


@dataclass(frozen=True)
class SubscribeResult:
    msgid: int | None


class _Client(WeChatClient):  # type: ignore[misc]
    """wechatpy's client at our base URL, with our token fetch and store."""

    _http: requests.Session

    def __init__(
        self,
        app: MiniProgramApp | OfficialAccountApp,
        endpoints: WeChatEndpoints,
        store: TokenStore,
        http: requests.Session,
        timeout: float,
    ) -> None:
        super().__init__(
            app.app_id, app.app_secret, session=store, timeout=timeout, auto_retry=False
        )
        self._http.close()  # the one wechatpy opened; ours is shared or closed by the caller
        self._http = http
        self.session = store  # wechatpy keeps ``session or MemoryStorage()``: be explicit
        self._endpoints = endpoints
        self.used_token: str | None = None  # the token the last call was made with
        self.API_BASE_URL = endpoints.api_base + "/cgi-bin/"
        self.wxa.API_BASE_URL = endpoints.api_base + "/"

    @property
    def access_token(self) -> str:
        token = self.session.get(self.access_token_key)
        if not token:
            with refresh_lock(self.session, self.access_token_key):
                # whoever held the lock before us may have fetched it: WeChat invalidates
                # the previous token on each fetch, so fetch only when it is still missing
                token = self.session.get(self.access_token_key)
                if not token:
                    token = self.fetch_access_token()["access_token"]
        self.used_token = str(token)
        return self.used_token

    def fetch_access_token(self) -> dict[str, Any]:
        # 「获取接口调用凭据」 GET /cgi-bin/token?grant_type=client_credential&appid=&secret=
        result = _get_json(
            self._http,
            self._endpoints.api_base + "/cgi-bin/token",
            {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            self.timeout,
        )
        token = result.get("access_token")
        if not isinstance(token, str) or not token:
            raise WeChatError(BAD_RESPONSE, "no access_token in the answer")
        expires_in = result.get("expires_in")
        ttl = expires_in if isinstance(expires_in, int) else 7200
        self.session.set(self.access_token_key, token, max(ttl - TOKEN_EARLY_REFRESH, 60))
        log.info("wechat access token fetched app_id=%s expires_in=%s", self.appid, ttl)
        return result


def _get_json(
    http: requests.Session, url: str, params: Mapping[str, str], timeout: float
) -> dict[str, Any]:
    """A GET answered with JSON and ``errcode``; errors as WeChatError, never with the URL."""
    try:
        resp = http.get(url, params=params, timeout=timeout)
    except requests.RequestException as exc:
        raise WeChatError(NETWORK_ERROR, f"WeChat did not answer ({type(exc).__name__})") from None
    if resp.status_code >= 300:
        raise WeChatError(HTTP_ERROR, f"HTTP {resp.status_code}")
    try:
        result = resp.json()
    except ValueError:
        raise WeChatError(BAD_RESPONSE, "answer is not JSON") from None
    if not isinstance(result, dict):
        raise WeChatError(BAD_RESPONSE, "answer is not a JSON object")
    errcode = result.get("errcode", 0)
    if errcode:
        raise WeChatError(int(errcode), str(result.get("errmsg", "")))
    return result


@contextmanager
def _client(
    app: MiniProgramApp | OfficialAccountApp,
    endpoints: WeChatEndpoints | None,
    store: TokenStore | None,
    http: requests.Session | None,
    timeout: float,
) -> Iterator[_Client]:
    own = http is None
    session = requests.Session() if http is None else http
    try:
        yield _Client(
            app, endpoints or DEFAULT_ENDPOINTS, store or DEFAULT_TOKEN_STORE, session, timeout
        )
    finally:
        if own:
            session.close()


def _drop_token(client: _Client) -> None:
    """Forget the token WeChat refused, unless another process already put a new one in
    the shared store (deleting that one would make every process fetch again in turn)."""
    key = client.access_token_key
    with refresh_lock(client.session, key):
        if client.session.get(key) == client.used_token:
            client.session.delete(key)


def _call(client: _Client, fn: Callable[[], T]) -> T:
    """Run a wechatpy call; on a dead token, drop it, fetch a new one and retry once."""
    for attempt in (1, 2):
        try:
            return fn()
        except WeChatClientException as exc:
            errcode = exc.errcode
            if errcode in TOKEN_ERRCODES and attempt == 1:
                log.info("wechat token refused errcode=%s app_id=%s", errcode, client.appid)
                _drop_token(client)
                continue
            if errcode is None:  # wechatpy's HTTP failure
                status = exc.response.status_code if exc.response is not None else "?"
                raise WeChatError(HTTP_ERROR, f"HTTP {status}") from None
            raise WeChatError(int(errcode), str(exc.errmsg)) from None
        except requests.RequestException as exc:
            raise WeChatError(
                NETWORK_ERROR, f"WeChat did not answer ({type(exc).__name__})"
            ) from None
    raise AssertionError("unreachable")


def code2session(
    app: MiniProgramApp,
    js_code: str,
    *,
    endpoints: WeChatEndpoints | None = None,
    http: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Session:
    """``wx.login`` code → openid, unionid, session_key (「小程序登录」 code2Session).

    ``GET /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code``; needs
    no access token. A bad or used code is errcode 40029 / 40163.
    """
    session = requests.Session() if http is None else http
    try:
        result = _get_json(
            session,
            (endpoints or DEFAULT_ENDPOINTS).api_base + "/sns/jscode2session",
            {
                "appid": app.app_id,
                "secret": app.app_secret,
                "js_code": js_code,
                "grant_type": "authorization_code",
            },
            timeout,
        )
    finally:
        if http is None:
            session.close()
    openid = result.get("openid")
    session_key = result.get("session_key")
    if not isinstance(openid, str) or not openid or not isinstance(session_key, str):
        raise WeChatError(BAD_RESPONSE, "no openid in the answer")
    unionid = result.get("unionid")
    return Session(
        openid=openid,
        unionid=unionid if isinstance(unionid, str) and unionid else None,
        session_key=session_key,
    )


def get_phone_number(
    app: MiniProgramApp,
    code: str,
    *,
    endpoints: WeChatEndpoints | None = None,
    store: TokenStore | None = None,
    http: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """The phone number behind a ``getPhoneNumber`` button's code (「手机号快速验证」).

    ``POST /wxa/business/getuserphonenumber?access_token=`` with ``{"code": ...}``; returns
    ``phone_info.phoneNumber`` (with the country code for numbers outside mainland China).
    """
    with _client(app, endpoints, store, http, timeout) as client:
        result = _call(
            client,
            lambda: client.post(
                "wxa/business/getuserphonenumber",
                data={"code": code},
                api_base_url=client.wxa.API_BASE_URL,
            ),
        )
    info = result.get("phone_info") if isinstance(result, dict) else None
    phone = info.get("phoneNumber") if isinstance(info, dict) else None
    if not isinstance(phone, str) or not phone:
        raise WeChatError(BAD_RESPONSE, "no phone_info.phoneNumber in the answer")
    watermark = info.get("watermark") if isinstance(info, dict) else None
    if isinstance(watermark, dict) and watermark.get("appid") not in (None, app.app_id):
        raise WeChatError(BAD_RESPONSE, "phone number issued to another app")
    return phone


def send_subscribe_message(
    app: MiniProgramApp,
    openid: str,
    template_id: str,
    data: Mapping[str, str | Mapping[str, str]],
    page: str | None = None,
    *,
    endpoints: WeChatEndpoints | None = None,
    store: TokenStore | None = None,
    http: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> SubscribeResult:
    """Send a subscribe message (「发送订阅消息」 ``POST /cgi-bin/message/subscribe/send``).

    ``data`` maps each template keyword (``thing1``, ``amount2``...) to its text, or to
    ``{"value": text}`` as WeChat wants it. Errcode 43101 means the driver has not
    subscribed (or used up the one-off subscription): not worth retrying.
    """
    payload = {
        key: (dict(value) if isinstance(value, Mapping) else {"value": value})
        for key, value in data.items()
    }
    with _client(app, endpoints, store, http, timeout) as client:
        result = _call(
            client, lambda: client.wxa.send_subscribe_message(openid, template_id, payload, page)
        )
    msgid = result.get("msgid") if isinstance(result, dict) else None
    return SubscribeResult(msgid=msgid if isinstance(msgid, int) else None)


def miniprogram_menu_button(name: str, appid: str, pagepath: str, url: str) -> dict[str, str]:
    """A menu button opening a mini-program page (``type: miniprogram``).

    ``url`` is required by WeChat: it opens instead on clients that cannot run
    mini-programs (「自定义菜单」 miniprogram 类型).
    """
    return {"type": "miniprogram", "name": name, "appid": appid, "pagepath": pagepath, "url": url}


def create_official_account_menu(
    app: OfficialAccountApp,
    menu_json: Mapping[str, Any],
    *,
    endpoints: WeChatEndpoints | None = None,
    store: TokenStore | None = None,
    http: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Publish an official account's menu (「创建自定义菜单」 ``POST /cgi-bin/menu/create``).

    ``menu_json`` is ``{"button": [...]}``: at most 3 buttons, each with at most 5
    ``sub_button``. Case #3: one of them opens the mini-program
    (:func:`miniprogram_menu_button`).
    """
    with _client(app, endpoints, store, http, timeout) as client:
        _call(client, lambda: client.menu.create(dict(menu_json)))


@dataclass(frozen=True)
class WebIdentity:
    """Who opened an H5 page, by the official account's web authorization."""

    openid: str
    unionid: str | None


def web_authorization(
    app: OfficialAccountApp,
    code: str,
    *,
    endpoints: WeChatEndpoints | None = None,
    http: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> WebIdentity:
    """The code of a 网页授权 redirect (``snsapi_base``) → the openid under the official
    account, and the unionid when the account is bound to an open platform.

    ``GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code``; the
    web access token it also returns is not kept (snsapi_base needs no user info).
    """
    session = requests.Session() if http is None else http
    try:
        result = _get_json(
            session,
            (endpoints or DEFAULT_ENDPOINTS).api_base + "/sns/oauth2/access_token",
            {
                "appid": app.app_id,
                "secret": app.app_secret,
                "code": code,
                "grant_type": "authorization_code",
            },
            timeout,
        )
    finally:
        if http is None:
            session.close()
    openid = result.get("openid")
    if not isinstance(openid, str) or not openid:
        raise WeChatError(BAD_RESPONSE, "no openid in the answer")
    unionid = result.get("unionid")
    return WebIdentity(openid, unionid if isinstance(unionid, str) and unionid else None)


def jsapi_ticket(
    app: OfficialAccountApp,
    *,
    endpoints: WeChatEndpoints | None = None,
    store: TokenStore | None = None,
    http: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """The JS-SDK ticket (``GET /cgi-bin/ticket/getticket?type=jsapi``), kept in ``store``
    for its lifetime like the access token."""
    token_store = store or DEFAULT_TOKEN_STORE
    key = f"{app.app_id}_jsapi_ticket"
    cached = token_store.get(key)
    if cached:
        return str(cached)
    with refresh_lock(token_store, key):
        cached = token_store.get(key)
        if cached:
            return str(cached)
        with _client(app, endpoints, store, http, timeout) as client:
            result = _call(client, lambda: client.get("ticket/getticket", params={"type": "jsapi"}))
        ticket = result.get("ticket") if isinstance(result, dict) else None
        if not isinstance(ticket, str) or not ticket:
            raise WeChatError(BAD_RESPONSE, "no ticket in the answer")
        expires = result.get("expires_in")
        ttl = expires if isinstance(expires, int) else 7200
        token_store.set(key, ticket, max(ttl - TOKEN_EARLY_REFRESH, 60))
    return ticket


def jssdk_signature(ticket: str, url: str, nonce: str, timestamp: int) -> str:
    """「JS-SDK使用权限签名算法」: SHA1 over the sorted key=value pairs."""
    import hashlib

    raw = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url.split('#')[0]}"
    return hashlib.sha1(raw.encode()).hexdigest()
