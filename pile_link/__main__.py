"""``python -m pile_link``: a pile-link process (gevent-patched entry point)."""

from gevent import monkey

monkey.patch_all()

import gc  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402

from app import create_app  # noqa: E402
from app.config import RefusedToStart  # noqa: E402
from app.startup import refuse_unsafe_start  # noqa: E402
from pile_link.runtime import PileLinkRuntime  # noqa: E402

log = logging.getLogger("pile_link")


def main() -> None:
    app = create_app()
    try:
        refuse_unsafe_start(app)
    except RefusedToStart as refusal:
        print(refusal, file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    runtime = PileLinkRuntime(app)
    endpoints = runtime.start()
    # what start-up built (the app, its mappers, the schemas) lives as long as the process:
    # out of the collector's sight, a full collection under the meter load pauses the hub
    # ~6 ms instead of ~120 ms, the ack p99 at 100 piles (issue 12, bench/PROFILE.md)
    gc.freeze()
    print(f"OCPP 1.6J  ws://{endpoints.ocpp[0]}:{endpoints.ocpp[1]}/ocpp/<pile_code>", flush=True)
    if endpoints.ykc:
        print(f"YKC v1.6   tcp://{endpoints.ykc[0]}:{endpoints.ykc[1]}", flush=True)
    done = gevent.event.Event()

    def _stop() -> None:
        log.info("pile link shutting down")
        runtime.stop(timeout=10)
        done.set()

    gevent.signal_handler(signal.SIGTERM, _stop)
    gevent.signal_handler(signal.SIGINT, _stop)
    done.wait()


if __name__ == "__main__":
    main()
