"""What one application holds besides its settings: caches, the WeChat token store, file
storage and the pile command port, each in a typed slot.

A slot is declared by the context that owns what it holds (``COMMAND_PORT`` in
:mod:`app.charging.commands`, ...); the whole state is built once, in plain sight, by
``create_app``, and an entry point that needs another part (the pile link's own command
port) puts it there explicitly. Services reach the state through :func:`part` and the
settings through :func:`app.config.setting`: neither imports Flask.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar

from flask import Flask, current_app

T = TypeVar("T")
P = ParamSpec("P")
_EXTENSION = "evop_state"


class Slot(Generic[T]):
    """A named, typed place in the application state."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


class AppState:
    """The parts of one application, by slot (``state[COMMAND_PORT]`` is a PileCommandPort)."""

    def __init__(self) -> None:
        self._parts: dict[Slot[Any], Any] = {}

    def __getitem__(self, slot: Slot[T]) -> T:
        try:
            value: T = self._parts[slot]
        except KeyError:
            raise LookupError(f"{slot.name} was never put in this application's state") from None
        return value

    def __setitem__(self, slot: Slot[T], part: T) -> None:
        self._parts[slot] = part

    def __delitem__(self, slot: Slot[Any]) -> None:
        del self._parts[slot]

    def __contains__(self, slot: object) -> bool:
        return slot in self._parts

    def get(self, slot: Slot[T], default: Any = None) -> T | Any:
        return self._parts.get(slot, default)


def install(app: Flask, state: AppState) -> None:
    app.extensions[_EXTENSION] = state


def state_of(app: Flask) -> AppState:
    found: AppState = app.extensions[_EXTENSION]
    return found


def part(slot: Slot[T]) -> T:
    """The current application's part in ``slot``."""
    return state_of(current_app)[slot]


def in_this_app(func: Callable[P, T]) -> Callable[P, T]:
    """``func``, to be called later (from another thread) inside the current application's
    context: background work keeps the application it was started for."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]

    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        with app.app_context():
            return func(*args, **kwargs)

    return run
