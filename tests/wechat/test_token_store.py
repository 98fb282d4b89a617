"""Access tokens shared by every process through Redis (issue 14, plumbing for more than one
worker): WeChat invalidates an app's previous token on each fetch, so workers that each
fetched their own knocked each other's tokens out. Against the real Redis (db 14, a key
prefix of each test's own, removed afterwards) and the fake WeChat over HTTP."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator

import pytest
import redis
from flask import Flask

from app import create_app
from app.state import state_of
from app.tenancy.wechat_accounts import TOKEN_STORE
from app.wechat.config import WeChatEndpoints
from app.wechat.miniprogram import MemoryTokenStore, _Client, _drop_token, send_subscribe_message
from app.wechat.sandbox.state import FakeWeChat
from app.wechat.tokens import RedisTokenStore
from tests.support.redis_db import TOKENS, redis_url
from tests.support.wechat import MP_APP

REDIS_URL = redis_url(TOKENS)


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"evop-test-{secrets.token_hex(6)}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)


def _process(prefix: str) -> RedisTokenStore:
    """What one worker process holds: its own connection to the shared Redis."""
    return RedisTokenStore.from_url(REDIS_URL, prefix=prefix)


def _send(store: RedisTokenStore | MemoryTokenStore, endpoints: WeChatEndpoints, n: int) -> None:
    send_subscribe_message(
        MP_APP, "alice", "TPL", {"thing1": f"第{n}条"}, endpoints=endpoints, store=store
    )


def test_two_processes_share_one_access_token(
    endpoints: WeChatEndpoints, fake: FakeWeChat, prefix: str
) -> None:
    _send(_process(prefix), endpoints, 1)
    _send(_process(prefix), endpoints, 2)

    assert fake.token_requests == [MP_APP.app_id]  # the second worker used the first's
    assert len(fake.subscribe_messages) == 2


def test_workers_starting_at_once_fetch_the_token_once(
    endpoints: WeChatEndpoints, fake: FakeWeChat, prefix: str
) -> None:
    stores = [_process(prefix) for _ in range(6)]
    start = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def work(n: int) -> None:
        start.wait()
        try:
            _send(stores[n], endpoints, n)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert fake.token_requests == [MP_APP.app_id]  # the lock: one fetch, five readers
    assert len(fake.subscribe_messages) == len(stores)


def test_a_refused_token_leaves_the_one_another_process_just_fetched(prefix: str) -> None:
    store = _process(prefix)
    client = _Client.__new__(_Client)  # only what _drop_token reads
    client.session, client.appid = store, MP_APP.app_id
    store.set(client.access_token_key, "fresh-from-worker-2", 600)
    client.used_token = "refused-old"
    _drop_token(client)
    assert store.get(client.access_token_key) == "fresh-from-worker-2"

    client.used_token = "fresh-from-worker-2"  # the stored one itself was refused: gone
    _drop_token(client)
    assert store.get(client.access_token_key) is None


def test_an_expired_token_is_fetched_again_once_and_shared(
    endpoints: WeChatEndpoints, fake: FakeWeChat, prefix: str
) -> None:
    _send(_process(prefix), endpoints, 1)
    fake.expire_access_tokens()
    _send(_process(prefix), endpoints, 2)  # 42001, fetched again, retried
    _send(_process(prefix), endpoints, 3)
    assert fake.token_requests == [MP_APP.app_id, MP_APP.app_id]


@pytest.mark.parametrize(("url", "kind"), [("", MemoryTokenStore), (REDIS_URL, RedisTokenStore)])
def test_the_app_shares_tokens_through_redis_when_it_is_set(
    url: str, kind: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVOP_REDIS_URL", url)
    app: Flask = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "REDIS_URL": url})
    assert isinstance(state_of(app)[TOKEN_STORE], kind)
