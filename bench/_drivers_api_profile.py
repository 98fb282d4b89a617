"""gunicorn settings for ``bench_drivers_api.py --profile``: each worker toggles a cProfile
of itself on ``SIGRTMIN + 1`` (the handler set from its fork, so a signal never kills a
worker still booting; the first signal starts it, the next writes
``<EVOP_BENCH_PROFILE_DIR>/<label>-<pid>.prof``, the label read from ``<dir>/label``), so
the benchmark profiles each case's measured load only. Under gevent every greenlet runs in
the worker's one thread: own times (tottime) are right, cumulative times across a greenlet
switch are not."""

from __future__ import annotations

import cProfile
import os
import signal
from pathlib import Path
from typing import Any

TOGGLE = signal.SIGRTMIN + 1
_profile: list[cProfile.Profile] = []


def _toggle(signum: int, frame: Any) -> None:
    if not _profile:
        prof = cProfile.Profile()
        _profile.append(prof)
        prof.enable()
        return
    prof = _profile.pop()
    prof.disable()
    folder = Path(os.environ["EVOP_BENCH_PROFILE_DIR"])
    label = (folder / "label").read_text().strip() or "case"
    prof.dump_stats(str(folder / f"{label}-{os.getpid()}.prof"))
    (folder / f"{label}-{os.getpid()}.done").touch()


def post_fork(server: Any, worker: Any) -> None:
    signal.signal(TOGGLE, _toggle)
