"""The drivers' API for the WeChat mini-program, ``/api/mp/v1``: one module per area, each
with its blueprint and thin views (load with a schema, call one service, dump), its schemas
in ``schemas/``."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def register(app: Flask, api: Api) -> None:
    from miniprogram_api import (
        account,
        certifications,
        charging_password,
        links,
        orders,
        pay_notify,
        stations,
        wallet,
    )
    from miniprogram_api.cli import register_cli

    # in the order of the document's tags
    for area in (
        account,
        stations,
        links,
        orders,
        certifications,
        charging_password,
        wallet,
        pay_notify,
    ):
        api.register_blueprint(area.bp)
    if app.config["BENCH_CEILING"]:  # the drivers' benchmark only, never in production
        from miniprogram_api import bench_ceiling

        api.register_blueprint(bench_ceiling.bp)
    register_cli(app)
