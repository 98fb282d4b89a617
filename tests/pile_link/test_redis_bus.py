"""Command routing across processes through Redis, with a real Redis server."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from app.charging.port import CommandOutcome, CommandResult
from pile_link import redis_bus
from pile_link.redis_bus import PILE_KEY, AnnouncingRegistry, RedisCommandPort, RedisNode
from pile_link.registry import Command, ConnectionRegistry
from pile_link.runtime import redis_client
from tests.support.redis_db import BUS, redis_url

REDIS_URL = redis_url(BUS)


class FakeLink:
    def __init__(
        self, code: str, outcome: CommandOutcome = CommandOutcome.ACCEPTED, delay: float = 0
    ):
        self.pile_code = code
        self.outcome = outcome
        self.delay = delay
        self.commands: list[Command] = []

    def close(self, reason: str) -> None:
        pass

    def execute(self, command: Command) -> CommandResult:
        self.commands.append(command)
        if self.delay:
            time.sleep(self.delay)
        return CommandResult(self.outcome, "ok", {"echo": command.args})


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except redis.RedisError:
        conn.close()
        pytest.skip("Redis is not reachable")
    yield conn
    conn.close()


@pytest.fixture
def node(client: redis.Redis) -> Iterator[tuple[AnnouncingRegistry, RedisNode]]:
    registry = AnnouncingRegistry()
    node = RedisNode(registry, client, node_id=f"test-{uuid.uuid4().hex[:8]}")
    registry.node = node
    node.start()
    yield registry, node
    node.stop()


def _code() -> str:
    return f"RB-{uuid.uuid4().hex[:10]}"


def test_command_reaches_the_node_holding_the_pile(
    client: redis.Redis, node: tuple[AnnouncingRegistry, RedisNode]
) -> None:
    registry, _ = node
    code = _code()
    link = FakeLink(code)
    registry.claim(link)
    port = RedisCommandPort(ConnectionRegistry(), client)  # an HTTP worker: holds no pile
    assert port.is_online(code)
    result = port.remote_start(code, 2, "C123", order_no="C123", timeout=5)
    assert result.outcome is CommandOutcome.ACCEPTED
    assert link.commands[0].args["connector_number"] == 2
    assert result.data["echo"]["id_tag"] == "C123"
    registry.release(link)
    assert not port.is_online(code)
    assert port.remote_stop(code, 2, "1", timeout=2).outcome is CommandOutcome.PILE_OFFLINE


def test_unknown_pile_is_offline_and_a_dead_node_is_noticed(client: redis.Redis) -> None:
    port = RedisCommandPort(ConnectionRegistry(), client)
    assert port.reset(_code(), timeout=1).outcome is CommandOutcome.PILE_OFFLINE
    code = _code()
    client.set(PILE_KEY.format(code=code), "node-that-died", ex=30)
    try:
        assert port.reset(code, timeout=1).outcome is CommandOutcome.PILE_OFFLINE
    finally:
        client.delete(PILE_KEY.format(code=code))


def test_slow_pile_times_out(
    client: redis.Redis, node: tuple[AnnouncingRegistry, RedisNode]
) -> None:
    registry, _ = node
    code = _code()
    registry.claim(FakeLink(code, delay=3))
    port = RedisCommandPort(ConnectionRegistry(), client)
    started = time.monotonic()
    result = port.sync_time(code, timeout=0.5)
    assert result.outcome is CommandOutcome.TIMED_OUT
    assert time.monotonic() - started < 3


def test_pile_moving_to_another_node_is_not_withdrawn_by_the_old_one(client: redis.Redis) -> None:
    code = _code()
    reg_a, reg_b = AnnouncingRegistry(), AnnouncingRegistry()
    node_a, node_b = RedisNode(reg_a, client, "node-a"), RedisNode(reg_b, client, "node-b")
    reg_a.node, reg_b.node = node_a, node_b
    link_a, link_b = FakeLink(code), FakeLink(code)
    reg_a.claim(link_a)
    reg_b.claim(link_b)  # the pile reconnected to node b
    reg_a.release(link_a)  # node a notices its socket closed afterwards
    assert client.get(PILE_KEY.format(code=code)) == b"node-b"
    reg_b.release(link_b)
    assert client.get(PILE_KEY.format(code=code)) is None


def test_local_pile_is_commanded_without_redis(client: redis.Redis) -> None:
    registry = ConnectionRegistry()
    code = _code()
    link = FakeLink(code, outcome=CommandOutcome.REJECTED)
    registry.claim(link)
    port = RedisCommandPort(registry, client)
    result = port.change_availability(code, 1, False, timeout=1)
    assert result.outcome is CommandOutcome.REJECTED and link.commands


def test_more_callers_than_redis_connections_wait_for_one(client: redis.Redis) -> None:
    small = redis_client(
        {"REDIS_URL": REDIS_URL, "REDIS_MAX_CONNECTIONS": 2, "REDIS_POOL_TIMEOUT_SECONDS": 10}
    )
    key = f"evop-test-empty-{uuid.uuid4().hex}"
    errors: list[BaseException] = []

    def wait_for_reply() -> None:  # what a command does while the pile answers
        try:
            small.blpop([key], timeout=0.2)
        except BaseException as exc:
            errors.append(exc)

    callers = [threading.Thread(target=wait_for_reply) for _ in range(6)]
    for t in callers:
        t.start()
    for t in callers:
        t.join(10)
    pool = small.connection_pool
    assert errors == []
    assert len(pool._connections) <= 2  # type: ignore[attr-defined]
    small.close()


def test_refresh_of_a_stale_link_does_not_take_a_moved_pile_back(client: redis.Redis) -> None:
    """The pile reconnected to node b while node a still holds its half-open socket: a's
    periodic refresh must not route the pile back to a (commands would time out on the dead
    link), nor leave a key that a's release then deletes (the pile unreachable at b)."""
    code = _code()
    reg_a, reg_b = AnnouncingRegistry(), AnnouncingRegistry()
    node_a = RedisNode(reg_a, client, f"node-a-{uuid.uuid4().hex[:6]}")
    node_b = RedisNode(reg_b, client, f"node-b-{uuid.uuid4().hex[:6]}")
    reg_a.node, reg_b.node = node_a, node_b
    link_a, link_b = FakeLink(code), FakeLink(code)
    reg_a.claim(link_a)
    reg_b.claim(link_b)  # moved to b; a has not noticed
    node_b.start()
    try:
        assert node_a.refresh() == 0
        assert client.get(PILE_KEY.format(code=code)) == node_b.node_id.encode()
        reg_a.release(link_a)  # a's read timeout, at last
        port = RedisCommandPort(ConnectionRegistry(), client)
        assert port.sync_time(code, timeout=2).outcome is CommandOutcome.ACCEPTED
        assert link_b.commands and not link_a.commands
    finally:
        node_b.stop()


def test_refresh_renews_its_own_piles_and_restores_an_expired_key(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_bus, "REFRESH_BATCH", 2)  # two round trips for three piles
    registry = AnnouncingRegistry()
    node = RedisNode(registry, client, f"node-{uuid.uuid4().hex[:6]}")
    registry.node = node
    codes = [_code() for _ in range(3)]
    links = [FakeLink(code) for code in codes]
    for link in links:
        registry.claim(link)
    keys = [PILE_KEY.format(code=code) for code in codes]
    client.expire(keys[0], 2)
    client.delete(keys[1])  # expired while Redis was away, say
    try:
        assert node.refresh() == 3
        assert [client.get(key) for key in keys] == [node.node_id.encode()] * 3
        assert all(client.ttl(key) > 2 for key in keys)
    finally:
        for link in links:
            registry.release(link)
    assert client.exists(*keys) == 0
