"""Drivers' API: WeChat login, the current driver, the phone number."""

from __future__ import annotations

from typing import Any

from flask import request

from app.catalogue import visibility
from app.drivers import driver_auth, h5
from app.rate_limits import rate_limit
from miniprogram_api.auth import current_driver, current_driver_id
from miniprogram_api.blueprints import blueprint
from miniprogram_api.schemas import account as s

bp = blueprint("auth", "司机登录与个人信息")


def _client_address() -> str:
    return request.remote_addr or "unknown"


@bp.route("/auth/login", methods=["POST"])
@bp.public
@bp.arguments(s.MpLoginIn)
@bp.response(200, s.MpLoginOut)
def login(body: dict[str, Any]) -> dict[str, Any]:
    """微信登录（wx.login 的 code 与小程序 AppID），首次登录自动注册"""
    rate_limit("login", _client_address(), "LOGIN_RATE_LIMIT")
    result = driver_auth.login(body["code"], body["app_id"])
    return {
        "access_token": result.access_token,
        "token_type": "Bearer",
        "expires_in": result.expires_in,
        "created": result.created,
        "driver": result.driver,
        "operator": result.operator,
    }


@bp.route("/auth/oa-login", methods=["POST"])
@bp.public
@bp.arguments(s.MpOaLoginIn)
@bp.response(200, s.MpLoginOut)
def oa_login(body: dict[str, Any]) -> dict[str, Any]:
    """公众号网页授权登录（H5 页面，snsapi_base 的 code）；同一 unionid 即小程序的同一司机"""
    rate_limit("login", _client_address(), "LOGIN_RATE_LIMIT")
    result = driver_auth.login_official_account(body["code"], body["app_id"])
    return {
        "access_token": result.access_token,
        "token_type": "Bearer",
        "expires_in": result.expires_in,
        "created": result.created,
        "driver": result.driver,
        "operator": result.operator,
    }


@bp.route("/auth/logout", methods=["POST"])
@bp.response(204)
def logout() -> None:
    """退出登录：本司机的所有登录凭证同时失效（之后的请求答 401 TOKEN_REVOKED）"""
    driver_auth.logout(current_driver_id())


@bp.route("/h5/config")
@bp.public
@bp.arguments(s.MpH5ConfigQuery, location="query")
@bp.response(200, s.MpH5ConfigOut)
def h5_config(args: dict[str, Any]) -> dict[str, Any]:
    """H5 页面的公众号与网页授权地址（无需登录）"""
    return h5.config(args.get("app_id"), args.get("redirect_uri"), args.get("state", ""))


@bp.route("/jssdk-config")
@bp.arguments(s.MpJsSdkQuery, location="query")
@bp.response(200, s.MpJsSdkOut)
def jssdk_config(args: dict[str, Any]) -> dict[str, Any]:
    """微信 JS-SDK wx.config 参数（扫一扫 scanQRCode），按本页 URL 签名"""
    return h5.jssdk_config(current_driver(), args["url"])


@bp.route("/me")
@bp.response(200, s.MpMeOut)
def me() -> dict[str, Any]:
    """当前司机与所属运营商品牌（case #1）"""
    driver = current_driver()
    return {"driver": driver, "operator": visibility.driver_operator(driver)}


@bp.route("/me/phone", methods=["POST"])
@bp.arguments(s.MpPhoneIn)
@bp.response(200, s.MpDriverOut)
def bind_phone(body: dict[str, Any]) -> Any:
    """绑定手机号（getPhoneNumber 按钮返回的 code）"""
    return driver_auth.bind_phone(current_driver(), body["code"])
