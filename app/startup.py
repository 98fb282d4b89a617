"""What a serving process checks before it serves: in production (``EVOP_ENV=production``)
it refuses to start, with the reasons, when the settings or the data are not safe (a
development secret lets anyone forge a platform admin's token; demo logins are printed in
the README). ``flask check-settings`` lists the same, all at once, without starting."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from app.config import RefusedToStart, check_settings, is_production
from app.demo import demo_logins_present


def production_problems(app: Flask) -> list[str]:
    """Everything production still lacks: settings, and demo accounts in the database."""
    problems = check_settings(app.config)
    with app.app_context():
        try:
            demo = demo_logins_present()
        except SQLAlchemyError:  # not reachable or not migrated yet: /readyz says so
            demo = []
    if demo:
        problems.append(
            "演示账号仍能用公开的默认密码登录（" + ", ".join(demo) + "）：删除它们或修改密码"
        )
    return problems


def refuse_unsafe_start(app: Flask) -> None:
    """Raise :class:`RefusedToStart` in production when anything is unsafe; else nothing."""
    if not is_production(app.config):
        return
    problems = production_problems(app)
    if problems:
        raise RefusedToStart(problems)
