"""The drivers' API for the WeChat mini-program: ``/api/mp/v1``."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def register(app: Flask, api: Api) -> None:
    from miniprogram_api.cli import register_cli
    from miniprogram_api.views import BLUEPRINTS
    from miniprogram_api.wallet_views import register as register_wallet

    for bp in BLUEPRINTS:
        api.register_blueprint(bp)
    register_wallet(api)
    register_cli(app)
