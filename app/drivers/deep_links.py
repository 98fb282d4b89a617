"""Stable links into the charging pages (case #3): H5 URLs and mini-program paths for the
station list, one station and the scan page, and the official-account menu that opens
the mini-program. The paths are a contract with the mini-program: never rename them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.config import setting
from app.errors import MINIPROGRAM_APPID_MISSING
from app.extensions import db
from app.tenancy.models import Operator
from app.tenancy.wechat_accounts import endpoints, token_store
from app.wechat import miniprogram
from app.wechat.config import OfficialAccountApp

STATION_LIST_PATH = "pages/stations/index"

STATION_PATH = "pages/stations/detail"

SCAN_PATH = "pages/scan/index"

ORDER_PATH = "pages/orders/detail"


@dataclass(frozen=True, slots=True)
class DeepLink:
    key: str
    name: str
    url: str  # H5 page, also what clients without mini-program support open
    mp_path: str  # mini-program page path with query


def base_url() -> str:
    return str(setting("DEEP_LINK_BASE_URL")).rstrip("/")


def links(station_id: int | None = None, order_no: str | None = None) -> list[DeepLink]:
    base = base_url()
    out = [
        DeepLink("station_list", "附近电站", f"{base}/stations", STATION_LIST_PATH),
        DeepLink("scan", "扫码充电", f"{base}/scan", SCAN_PATH),
    ]
    if station_id is not None:
        out.append(
            DeepLink(
                "station", "电站详情", f"{base}/stations/{station_id}",
                f"{STATION_PATH}?id={station_id}",
            )
        )  # fmt: skip
    if order_no:
        out.append(
            DeepLink(
                "order", "充电订单", f"{base}/orders/{order_no}", f"{ORDER_PATH}?no={order_no}"
            )
        )
    return out


def mini_program_app_id(operator_id: int | None = None) -> str:
    """The mini-program menus open: the operator's own, else ``MINIPROGRAM_APPID``."""
    if operator_id is not None:
        op = db.session.get(Operator, operator_id)
        if op is not None and op.wechat_app_id:
            return op.wechat_app_id
    return str(setting("MINIPROGRAM_APPID") or "")


def app_id_for(app_id: str | None) -> str:
    """A mini-program app id the platform knows (any operator's), else the default one."""
    if app_id:
        known = db.session.scalar(select(Operator.id).where(Operator.wechat_app_id == app_id))
        if known is not None:
            return app_id
    return mini_program_app_id()


def menu_json(mp_app_id: str) -> dict[str, Any]:
    """An official-account menu (at most 3 buttons, 5 sub-buttons each) whose buttons open
    the mini-program pages; ``url`` opens on clients that cannot run mini-programs."""
    if not mp_app_id:
        raise MINIPROGRAM_APPID_MISSING()
    by_key = {link.key: link for link in links()}
    scan, stations = by_key["scan"], by_key["station_list"]
    return {
        "button": [
            miniprogram.miniprogram_menu_button("扫码充电", mp_app_id, scan.mp_path, scan.url),
            miniprogram.miniprogram_menu_button(
                "附近电站", mp_app_id, stations.mp_path, stations.url
            ),
        ]
    }


def publish_menu(oa: OfficialAccountApp, mp_app_id: str) -> dict[str, Any]:
    """Publish the menu to the official account through WeChat (``WECHAT_API_BASE``)."""
    menu = menu_json(mp_app_id)
    miniprogram.create_official_account_menu(oa, menu, endpoints=endpoints(), store=token_store())
    return menu
