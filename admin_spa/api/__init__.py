"""The admin API blueprint package: ``/api/admin/v1``."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def register(app: Flask, api: Api) -> None:
    from admin_spa.api.driver_admin_views import DRIVER_ADMIN_BLUEPRINTS
    from admin_spa.api.pile_views import history_bp
    from admin_spa.api.refund_admin_views import REFUND_ADMIN_BLUEPRINTS
    from admin_spa.api.views import BLUEPRINTS

    for bp in (*BLUEPRINTS, history_bp, *DRIVER_ADMIN_BLUEPRINTS, *REFUND_ADMIN_BLUEPRINTS):
        api.register_blueprint(bp)
