"""``flask wechat-menu``: publish the official-account menu that opens the mini-program's
charging pages (case #3)."""

from __future__ import annotations

import json

import click
from flask import Flask, current_app

from app.drivers import deep_links
from app.errors import DomainError
from app.wechat.config import OfficialAccountApp
from app.wechat.errors import WeChatError


def register_cli(app: Flask) -> None:
    @app.cli.command("wechat-menu")
    @click.option("--oa-app-id", default=None, help="公众号 AppID（默认 EVOP_WECHAT_OA_APP_ID）")
    @click.option("--oa-app-secret", default=None, help="公众号 AppSecret")
    @click.option("--operator-id", type=int, default=None, help="打开该运营商的小程序")
    @click.option("--dry-run", is_flag=True, help="只打印菜单 JSON，不发布")
    def wechat_menu_command(
        oa_app_id: str | None, oa_app_secret: str | None, operator_id: int | None, dry_run: bool
    ) -> None:
        """Publish the official-account menu with a mini-program entry."""
        mp_app_id = deep_links.mini_program_app_id(operator_id)
        try:
            menu = deep_links.menu_json(mp_app_id)
            if dry_run:
                click.echo(json.dumps(menu, ensure_ascii=False, indent=2))
                return
            app_id = oa_app_id or current_app.config["WECHAT_OA_APP_ID"]
            secret = oa_app_secret or current_app.config["WECHAT_OA_APP_SECRET"]
            if not app_id or not secret:
                raise click.UsageError(
                    "需要公众号 AppID 与 AppSecret（--oa-app-id/--oa-app-secret 或 "
                    "EVOP_WECHAT_OA_APP_ID/EVOP_WECHAT_OA_APP_SECRET）"
                )
            deep_links.publish_menu(OfficialAccountApp(app_id, secret), mp_app_id)
        except DomainError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from None
        except WeChatError as exc:
            raise click.ClickException(f"微信返回错误 {exc.errcode}: {exc.errmsg}") from None
        click.echo(f"公众号 {app_id} 菜单已发布（小程序 {mp_app_id}）")
