"""设置 → 推广链接 (case #3): for each sub-operator in the admin's view, the stable links into
the charging pages (:mod:`app.drivers.deep_links`), one per station too, each with a QR
image to print, and the official-account menu JSON that opens its mini-program (the JSON
``flask wechat-menu`` publishes). Read-only: nothing here changes a link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import segno
from sqlalchemy import select

from app.catalogue.models import Station
from app.drivers import deep_links
from app.errors import DomainError
from app.extensions import db
from app.tenancy.models import Operator
from app.tenancy.scope import Actor, scoped

LINKS_READ = "operator.read"

QR_SCALE = 8  # PNG pixels per module: about 4 cm at 300 dpi for a short link


def qr_png_data_uri(text: str) -> str:
    """A QR code of ``text`` as a ``data:image/png;base64,...`` URI (error correction M)."""
    return str(segno.make(text, error="m", micro=False).png_data_uri(scale=QR_SCALE, border=2))


@dataclass(frozen=True, slots=True)
class LinkView:
    key: str
    name: str
    url: str
    mp_path: str
    qr_png: str  # data URI of the QR image of ``url``
    station_id: int | None = None


@dataclass(frozen=True, slots=True)
class OperatorLinks:
    operator_id: int
    operator_name: str
    mini_program_app_id: str
    links: list[LinkView]
    menu: dict[str, Any] | None  # the official-account menu JSON, None without a mini-program
    menu_error: str | None  # why there is no menu, in Chinese


def _view(link: deep_links.DeepLink, station_id: int | None = None) -> LinkView:
    qr = qr_png_data_uri(link.url)
    return LinkView(link.key, link.name, link.url, link.mp_path, qr, station_id)


def operator_links(actor: Actor, *, operator_id: int | None = None) -> list[OperatorLinks]:
    """The links of every sub-operator the actor sees (one when ``operator_id`` is given)."""
    actor.require(LINKS_READ)
    stmt = scoped(select(Operator), Operator.id, actor)
    if operator_id is not None:
        stmt = stmt.where(Operator.id == operator_id)
    operators = list(db.session.scalars(stmt.order_by(Operator.id)))
    stations: dict[int, list[Station]] = {}
    if operators:
        for station in db.session.scalars(
            select(Station)
            .where(Station.operator_id.in_([o.id for o in operators]), Station.status == "active")
            .order_by(Station.id)
        ):
            stations.setdefault(station.operator_id, []).append(station)
    out = []
    for op in operators:
        views = [_view(link) for link in deep_links.links()]
        for station in stations.get(op.id, []):
            link = deep_links.links(station_id=station.id)[-1]
            views.append(
                _view(
                    deep_links.DeepLink(link.key, f"电站详情：{station.name}", link.url,
                                        link.mp_path),
                    station.id,
                )
            )  # fmt: skip
        app_id = deep_links.mini_program_app_id(op.id)
        menu: dict[str, Any] | None = None
        menu_error: str | None = None
        try:
            menu = deep_links.menu_json(app_id)
        except DomainError as exc:
            menu_error = exc.message
        out.append(OperatorLinks(op.id, op.name, app_id, views, menu, menu_error))
    return out
