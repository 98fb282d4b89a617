"""Flask CLI commands: ``flask seed-demo``, ``flask check-settings``."""

from __future__ import annotations

import sys

import click
from flask import Flask

from app.demo import seed_demo
from app.jobs.cli import register_scheduler_cli
from app.startup import production_problems


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Load the demo data (idempotent)."""
        summary = seed_demo()
        click.echo("演示数据已创建" if summary.created else "演示数据已存在，未重复创建")
        for username, password, operator in summary.logins:
            click.echo(f"  {operator}: {username} / {password}")

    @app.cli.command("check-settings")
    @click.option("--production/--no-production", default=True)
    def check_settings_command(production: bool) -> None:
        """List what production still lacks; exit 1 if anything."""
        problems = production_problems(app) if production else []
        if not problems:
            click.echo("settings: ready for production")
            return
        click.echo("settings: production still lacks:")
        for line in problems:
            click.echo(f"  - {line}")
        sys.exit(1)

    register_scheduler_cli(app)
