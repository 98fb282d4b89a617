"""Console API: members and their wallets."""

from __future__ import annotations

from typing import Any

from flask import Response

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.export_response import XLSX_RESPONSES, dated, xlsx_download
from admin_spa.api.schemas import members as s
from admin_spa.api.schemas.common import PageQuery
from app.drivers import cards, driver_auth, member_export, members
from app.ledger import wallet, wallet_export
from app.openapi import page_of
from app.paging import Page

bp = blueprint("members", "会员与钱包")


@bp.route("/members")
@bp.arguments(s.MemberQuery, location="query")
@bp.response(200, page_of(s.MemberOut, "MemberPage"))
def list_members(args: dict[str, Any]) -> Page:
    """会员列表（按子运营商隔离）"""
    return members.list_members(current_actor(), **args)


@bp.route("/members/export")
@bp.arguments(s.MemberExportQuery, location="query")
@bp.doc(responses=XLSX_RESPONSES)
def export_members(args: dict[str, Any]) -> Response:
    """导出会员（xlsx，筛选条件与列表相同；超过上限时 EXPORT_TOO_MANY_ROWS）"""
    file, count = member_export.export_members(current_actor(), **args)
    return xlsx_download(file, dated("会员"), count)


@bp.route("/members/<int:driver_id>")
@bp.response(200, s.MemberOut)
def get_member(driver_id: int) -> Any:
    """会员详情"""
    return members.get_member(current_actor(), driver_id)


@bp.route("/members/<int:driver_id>/wallet-entries")
@bp.arguments(PageQuery, location="query")
@bp.response(200, page_of(s.WalletEntryOut, "WalletEntryPage"))
def wallet_entries(args: dict[str, Any], driver_id: int) -> Page:
    """钱包流水"""
    return wallet.list_entries(current_actor(), driver_id, **args)


@bp.route("/members/<int:driver_id>/wallet-entries/export")
@bp.doc(responses=XLSX_RESPONSES)
def export_wallet_entries(driver_id: int) -> Response:
    """导出会员钱包流水（xlsx，与会员详情的流水相同；超过上限时 EXPORT_TOO_MANY_ROWS）"""
    file, count = wallet_export.export_entries(current_actor(), driver_id)
    return xlsx_download(file, dated(f"钱包流水-{driver_id}"), count)


@bp.route("/members/<int:driver_id>/wallet-adjustments", methods=["POST"])
@bp.arguments(s.WalletAdjustIn)
@bp.response(201, s.WalletEntryOut)
def adjust_wallet(body: dict[str, Any], driver_id: int) -> Any:
    """手工充值/扣款（须填原因，记审计）"""
    return wallet.admin_adjust(current_actor(), driver_id, body["amount_fen"], body["reason"])


@bp.route("/members/<int:driver_id>/disable", methods=["POST"])
@bp.arguments(s.MemberDisableIn)
@bp.response(200, s.MemberOut)
def disable_member(body: dict[str, Any], driver_id: int) -> Any:
    """停用会员（须填原因，记审计）：其所有登录立即失效，之后不能登录"""
    return driver_auth.disable_driver(current_actor(), driver_id, body["reason"])


@bp.route("/members/<int:driver_id>/enable", methods=["POST"])
@bp.arguments(s.MemberEnableIn)
@bp.response(200, s.MemberOut)
def enable_member(body: dict[str, Any], driver_id: int) -> Any:
    """启用已停用的会员（记审计）：司机须重新登录"""
    return driver_auth.enable_driver(current_actor(), driver_id, body["reason"])


@bp.route("/members/<int:driver_id>/cards")
@bp.response(200, s.CardList)
def member_cards(driver_id: int) -> dict[str, Any]:
    """发给会员的充电卡与充电密码（密码不显示）"""
    return {"items": cards.list_cards(current_actor(), driver_id)}


@bp.route("/members/<int:driver_id>/cards", methods=["POST"])
@bp.arguments(s.CardIssueIn)
@bp.response(201, s.CardOut)
def issue_card(body: dict[str, Any], driver_id: int) -> Any:
    """发放充电卡（填卡号）或充电密码（平台生成，只显示一次；旧密码同时停用）；记审计"""
    if body["kind"] == cards.KIND_PASSWORD:
        return cards.issue_password(current_actor(), driver_id, reason=body["reason"])
    return cards.issue_card(current_actor(), driver_id, body["card_number"], reason=body["reason"])


@bp.route("/cards/<int:card_id>/disable", methods=["POST"])
@bp.arguments(s.CardDisableIn)
@bp.response(200, s.CardOut)
def disable_card(body: dict[str, Any], card_id: int) -> Any:
    """停用充电卡或充电密码（须填原因，记审计）：充电桩此后拒绝它"""
    return cards.disable_card(current_actor(), card_id, reason=body["reason"])
