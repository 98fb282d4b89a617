"""The admin API blueprint package: ``/api/admin/v1``."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def register(app: Flask, api: Api) -> None:
    from admin_spa.api.views import BLUEPRINTS

    for bp in BLUEPRINTS:
        api.register_blueprint(bp)
