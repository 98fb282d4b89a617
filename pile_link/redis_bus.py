"""Cross-process command routing over Redis (DESIGN.md: production runs many HTTP workers
and one or more pile-link processes; a command must reach the process holding the pile).

* Each pile-link process is a *node*. While it holds a pile, ``evop:pile:<code>`` names
  the node (refreshed with a TTL, so a dead node's piles expire; a refresh never takes a
  pile back from the node it moved to, see :meth:`RedisNode.refresh`); the node listens on
  ``evop:node:<id>`` and answers each command on ``evop:reply:<request id>``.
* :class:`RedisCommandPort` is the ``PileCommandPort`` of every process: a pile held
  locally is commanded directly; any other goes through Redis, with a timeout and a
  result (accepted / rejected / pile offline / timed out).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any

import redis

from app.charging.port import CommandOutcome, CommandResult
from pile_link.registry import Command, CommandName, ConnectionRegistry, LocalCommandPort, PileLink

log = logging.getLogger(__name__)

PILE_KEY = "evop:pile:{code}"
NODE_CHANNEL = "evop:node:{node}"
REPLY_KEY = "evop:reply:{request}"
PILE_TTL_SECONDS = 30
REFRESH_SECONDS = 10
REFRESH_BATCH = 500  # keys renewed per pipeline round trip
_COMPARE_AND_DELETE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)
# renew the key if it still names this node, or set it if it expired; leave it when it
# names another node (the pile reconnected there)
_RENEW_IF_OURS = (
    "local v = redis.call('get', KEYS[1]) "
    "if v == false or v == ARGV[1] then redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2]) "
    "return 1 end return 0"
)
# look the pile's node up and publish the command to it in one round trip: -1 no node holds
# the pile, else the number of listeners (0: the node is gone)
_ROUTE = (
    "local node = redis.call('get', KEYS[1]) if not node then return -1 end "
    "return redis.call('publish', ARGV[1] .. node, ARGV[2])"
)


def _result_to_json(result: CommandResult) -> str:
    return json.dumps(
        {"outcome": result.outcome.value, "detail": result.detail, "data": result.data},
        ensure_ascii=False,
        default=str,
    )


def _result_from_json(raw: str | bytes) -> CommandResult:
    data = json.loads(raw)
    return CommandResult(
        CommandOutcome(data["outcome"]), data.get("detail", ""), data.get("data") or {}
    )


class RedisNode:
    """The pile-link side: announces held piles and executes commands sent to this node."""

    def __init__(
        self, registry: ConnectionRegistry, client: redis.Redis, node_id: str | None = None
    ):
        self.registry = registry
        self.client = client
        self.node_id = node_id or uuid.uuid4().hex
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pubsub: Any = None
        self._renew = client.register_script(_RENEW_IF_OURS)

    # --- announcements -------------------------------------------------------------------

    def announce(self, pile_code: str) -> None:
        try:
            self.client.set(PILE_KEY.format(code=pile_code), self.node_id, ex=PILE_TTL_SECONDS)
        except redis.RedisError:
            log.exception("cannot announce pile", extra={"pile_code": pile_code})

    def withdraw(self, pile_code: str) -> None:
        # delete only if it still names this node: the pile may have moved to another one
        try:
            self.client.eval(_COMPARE_AND_DELETE, 1, PILE_KEY.format(code=pile_code), self.node_id)
        except redis.RedisError:
            log.exception("cannot withdraw pile", extra={"pile_code": pile_code})

    def refresh(self) -> int:
        """Renew the keys of the piles this node holds; returns how many it renewed.

        A key that names another node is left alone: the pile reconnected there while this
        node still holds its old link (a half-open socket lives until the read timeout), and
        taking the key back would route commands to the dead link, then delete the key when
        that link ends. Only a connection's claim (:meth:`announce`) moves a pile."""
        codes = self.registry.pile_codes()
        renewed = 0
        for first in range(0, len(codes), REFRESH_BATCH):
            pipe = self.client.pipeline(transaction=False)
            for code in codes[first : first + REFRESH_BATCH]:
                self._renew(
                    keys=[PILE_KEY.format(code=code)],
                    args=[self.node_id, PILE_TTL_SECONDS],
                    client=pipe,
                )
            try:
                renewed += sum(int(r) for r in pipe.execute())
            except redis.RedisError:
                log.exception("cannot refresh piles", extra={"node_id": self.node_id})
        return renewed

    def _refresh_loop(self) -> None:
        while not self._stop.wait(REFRESH_SECONDS):
            self.refresh()

    # --- commands --------------------------------------------------------------------------

    def _execute(self, message: dict[str, Any]) -> None:
        try:
            body = json.loads(message["data"])
            command = Command(
                CommandName(body["name"]), body.get("args") or {}, float(body["timeout"])
            )
            result = self.registry.send_command(body["pile_code"], command)
        except Exception:
            log.exception("bad routed command")
            return
        reply_key = REPLY_KEY.format(request=body["request_id"])
        pipe = self.client.pipeline()
        pipe.rpush(reply_key, _result_to_json(result))
        pipe.expire(reply_key, 60)
        pipe.execute()

    def _listen_loop(self) -> None:
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(NODE_CHANNEL.format(node=self.node_id))
        self._pubsub = pubsub
        try:
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message and message.get("type") == "message":
                    threading.Thread(target=self._execute, args=(message,), daemon=True).start()
        finally:
            pubsub.close()

    def start(self) -> None:
        for target in (self._listen_loop, self._refresh_loop):
            thread = threading.Thread(
                target=target, name=f"redis-node-{target.__name__}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        log.info("redis command node started", extra={"node_id": self.node_id})

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for code in self.registry.pile_codes():
            self.withdraw(code)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()


class AnnouncingRegistry(ConnectionRegistry):
    """A registry that tells Redis which node holds a pile as soon as it connects."""

    def __init__(self) -> None:
        super().__init__()
        self.node: RedisNode | None = None

    def claim(self, link: PileLink) -> bool:
        replaced = super().claim(link)
        if self.node is not None:
            self.node.announce(link.pile_code)
        return replaced

    def release(self, link: PileLink) -> bool:
        released = super().release(link)
        if released and self.node is not None:
            self.node.withdraw(link.pile_code)
        return released


class RedisCommandPort(LocalCommandPort):
    """Commands a local pile directly, any other through the node that holds it."""

    def __init__(self, registry: ConnectionRegistry, client: redis.Redis) -> None:
        super().__init__(registry)
        self._registry_ref = registry
        self.client = client
        self._route = client.register_script(_ROUTE)

    def _send(
        self, pile_code: str, name: CommandName, timeout: float, **args: Any
    ) -> CommandResult:
        if self._registry_ref.is_online(pile_code):
            return super()._send(pile_code, name, timeout, **args)
        request_id = uuid.uuid4().hex
        body = json.dumps(
            {
                "request_id": request_id,
                "pile_code": pile_code,
                "name": name.value,
                "args": args,
                "timeout": timeout,
            },
            ensure_ascii=False,
        )
        try:
            listeners = int(
                self._route(
                    keys=[PILE_KEY.format(code=pile_code)],
                    args=[NODE_CHANNEL.format(node=""), body],
                )
            )
            if listeners < 0:
                return CommandResult(
                    CommandOutcome.PILE_OFFLINE, "no pile-link node holds this pile"
                )
            if listeners == 0:
                return CommandResult(CommandOutcome.PILE_OFFLINE, "the pile-link node is gone")
            reply = self.client.blpop([REPLY_KEY.format(request=request_id)], timeout=timeout + 1)
        except redis.RedisError as exc:
            log.exception("redis routing failed", extra={"pile_code": pile_code})
            return CommandResult(CommandOutcome.TIMED_OUT, f"redis: {type(exc).__name__}")
        if reply is None:
            return CommandResult(CommandOutcome.TIMED_OUT, "no answer from the pile-link node")
        return _result_from_json(reply[1])

    def is_online(self, pile_code: str) -> bool:
        if self._registry_ref.is_online(pile_code):
            return True
        try:
            return bool(self.client.exists(PILE_KEY.format(code=pile_code)))
        except redis.RedisError:
            return False
