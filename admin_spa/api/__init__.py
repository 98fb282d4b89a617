"""The console's API, ``/api/admin/v1``: one module per area, each with its blueprint and
thin views (load with a schema, call one service, dump), its schemas in ``schemas/``."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def register(app: Flask, api: Api) -> None:
    from admin_spa.api import (
        abnormal_orders,
        account,
        admin_users,
        audit,
        certifications,
        coupons,
        customer_service,
        dashboard,
        energy_loss,
        hlht,
        member_pricing,
        members,
        operators,
        orders,
        pile_history,
        piles,
        promotion_links,
        refunds,
        statements,
        stations,
        tariffs,
        topups,
    )

    # in the order of the document's tags
    areas = (
        account, dashboard, operators, admin_users, tariffs, stations, piles, members, audit,
        abnormal_orders, coupons, member_pricing, pile_history, certifications,
        customer_service, refunds, orders, hlht, energy_loss, statements, promotion_links,
        topups,
    )  # fmt: skip
    for area in areas:
        api.register_blueprint(area.bp)
