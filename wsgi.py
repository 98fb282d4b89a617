"""Entry point: ``gunicorn -k gevent wsgi:app`` in production, ``python wsgi.py`` for the
embedded single process that ``make run`` starts (HTTP, pile link, scheduler).
Patching happens here, nowhere else."""

from gevent import monkey

monkey.patch_all()

import gc  # noqa: E402
from collections.abc import Callable  # noqa: E402

from app import create_app  # noqa: E402
from app.server import serve  # noqa: E402

app = create_app()
# what create_app built lives as long as the process: out of the collector's sight, a full
# collection pauses a worker for ~10 ms instead of 100-170 ms (p99 of the drivers' API)
gc.freeze()


def main() -> None:
    stops: list[Callable[[], None]] = []
    if app.config["PILE_LINK_ENABLED"]:
        from pile_link.runtime import PileLinkRuntime

        runtime = PileLinkRuntime(app)
        endpoints = runtime.start()
        print(
            f"OCPP 1.6J ws://{endpoints.ocpp[0]}:{endpoints.ocpp[1]}/ocpp/<pile_code>", flush=True
        )
        if endpoints.ykc:
            print(f"YKC v1.6  tcp://{endpoints.ykc[0]}:{endpoints.ykc[1]}", flush=True)
        stops.append(lambda: runtime.stop(timeout=10))
    if app.config["SCHEDULER_ENABLED"]:
        from app.jobs.scheduler import start_scheduler

        scheduler = start_scheduler(app)
        print("调度任务  " + ", ".join(job.id for job in scheduler.get_jobs()), flush=True)
        stops.append(lambda: scheduler.shutdown(wait=False))
    serve(app, stops)


if __name__ == "__main__":
    main()
