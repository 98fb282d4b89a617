"""Console API: members and their wallets."""

from __future__ import annotations

from typing import Any

from flask import Response

from admin_spa.api.auth import current_actor
from admin_spa.api.blueprints import blueprint
from admin_spa.api.export_response import XLSX_RESPONSES, dated, xlsx_download
from admin_spa.api.schemas import members as s
from admin_spa.api.schemas.common import PageQuery
from app.drivers import driver_auth, member_export, members
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
