"""``flask scheduler``: the scheduled jobs in the foreground (the production scheduler
process; several may run, each job runs in one of them at a time)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from flask import Flask

from app.config import RefusedToStart
from app.jobs.scheduler import run_all_once, start_scheduler, stop_scheduler
from app.startup import refuse_unsafe_start


def register_scheduler_cli(app: Flask) -> None:
    @app.cli.command("scheduler")
    @click.option("--once", is_flag=True, help="Run every job once, then exit.")
    def scheduler_command(once: bool) -> None:
        """Run the scheduled jobs in the foreground until SIGINT / SIGTERM."""
        try:
            refuse_unsafe_start(app)
        except RefusedToStart as refusal:
            raise click.ClickException(str(refusal)) from None
        if once:
            for job_id, ran in run_all_once(app).items():
                click.echo(f"{job_id}: {'ran' if ran else 'held by another process'}")
            return
        done = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            done.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        scheduler = start_scheduler(app, force=True)
        click.echo(f"scheduler running ({len(scheduler.get_jobs())} jobs); Ctrl-C to stop")
        done.wait()
        stop_scheduler(app, scheduler)
        click.echo("scheduler stopped")
