"""Flask CLI commands: ``flask seed-demo``, ``flask check-settings``, ``flask pile-password``."""

from __future__ import annotations

import sys

import click
from flask import Flask
from sqlalchemy import select

from app.catalogue import pile_access
from app.catalogue.models import Pile
from app.demo import seed_demo
from app.demo_history import seed_demo_history
from app.extensions import db
from app.jobs.cli import register_scheduler_cli
from app.startup import production_problems
from app.tenancy.scope import SYSTEM


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Load the demo data (idempotent)."""
        summary = seed_demo()
        click.echo("演示数据已创建" if summary.created else "演示数据已存在，未重复创建")
        for username, password, operator in summary.logins:
            click.echo(f"  {operator}: {username} / {password}")
        history = seed_demo_history()
        if history.created:
            click.echo(
                f"演示历史数据：{history.orders} 笔充电订单，{history.faults} 次故障，"
                f"{history.disconnections} 次离线（近 30 天）；广东云创充值活动：充 50 元送 25 元券"
            )

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

    @app.cli.command("pile-password")
    @click.argument("pile_code")
    def pile_password_command(pile_code: str) -> None:
        """Set (or rotate) a pile's OCPP password and print it once."""
        pile = db.session.scalar(select(Pile).where(Pile.code == pile_code))
        if pile is None:
            click.echo(f"未找到充电桩 {pile_code}", err=True)
            sys.exit(1)
        new = pile_access.set_password(SYSTEM, pile.id)
        click.echo(f"充电桩 {pile_code} 的接入密码（只显示这一次）：")
        click.echo(f"  HTTP Basic 用户名 {pile_code}，密码 {new.password}")

    register_scheduler_cli(app)
