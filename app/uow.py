"""Units of work: every entry point of the domain (a service an HTTP view calls, a pile
event, a job's item) declares its transaction here, and only this module commits.

A unit of work entered inside another joins it: the outermost one commits, or rolls back
everything if anything in it raised. Work that must talk to a pile between transactions
(a start or stop command) asks :func:`between_units`: no transaction is held while a pile
answers, and asking inside a unit of work is a mistake this module refuses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from app.extensions import db

P = ParamSpec("P")
T = TypeVar("T")
_DEPTH = "evop_unit_of_work_depth"


def _depth() -> int:
    depth: int = db.session.info.get(_DEPTH, 0)
    return depth


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit what the block did when it ends, roll it all back when it raises; inside
    another unit of work, join it."""
    session = db.session()
    depth = _depth()
    session.info[_DEPTH] = depth + 1
    try:
        yield
        if depth == 0:
            session.commit()
    except BaseException:
        if depth == 0:
            session.rollback()
        raise
    finally:
        session.info[_DEPTH] = depth


def transactional(func: Callable[P, T]) -> Callable[P, T]:
    """The function is an entry point: its body is one unit of work."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        with unit_of_work():
            return func(*args, **kwargs)

    return run


def in_unit_of_work() -> bool:
    return _depth() > 0


def between_units() -> None:
    """End the transaction that the reads so far began, before talking to a pile (its
    answer, or its record, may race us). Refused inside a unit of work and with changes
    not yet committed: a command never goes out with the work that asked for it unsaved."""
    session = db.session()
    if _depth() > 0:
        raise RuntimeError("a pile command is never sent inside a unit of work")
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("unsaved changes before a pile command: commit them in a unit of work")
    session.commit()


def discard() -> None:
    """Throw away what the session holds (after a failure outside any unit of work, or a
    conflict a caller recovers from); refused inside one, whose owner decides."""
    if _depth() > 0:
        raise RuntimeError("discard inside a unit of work: let its owner roll back")
    db.session.rollback()
