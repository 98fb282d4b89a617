"""``flask hlht add-partner``: register an interconnection partner from the command line."""

from __future__ import annotations

import click
from flask import Flask

from app.errors import DomainError
from app.hlht import customer, partners


def register_cli(app: Flask) -> None:
    @app.cli.group("hlht")
    def hlht() -> None:
        """互联互通（T/CEC 102）：合作平台"""

    @hlht.command("add-partner")
    @click.option("--operator-id", required=True, help="the partner's 9-character OperatorID")
    @click.option("--name", required=True)
    @click.option("--base-url", default="", help="where its /evcs/v1/ interfaces are")
    @click.option("--roles", default="emsp,cpo", help="emsp, cpo or both")
    @click.option("--operator-secret", required=True, help="the secret it presents to us")
    @click.option("--our-operator-secret", required=True, help="the secret we present to it")
    @click.option("--data-secret", required=True)
    @click.option("--data-iv", required=True)
    @click.option("--sig-secret", required=True)
    @click.option("--out-data-secret", default="", help="default: --data-secret")
    @click.option("--out-data-iv", default="", help="default: --data-iv")
    @click.option("--out-sig-secret", default="", help="default: --sig-secret")
    @click.option("--dialect", type=click.Choice(["cec2016", "xiaoju"]), default="cec2016")
    @click.option("--share-stations", default="", help="all, or station ids: 1,2,3")
    def add_partner(**options: str) -> None:
        """Register a partner platform; prints its id."""
        try:
            partner = partners.add_partner(options)
        except DomainError as err:
            raise click.ClickException(f"{err.message}: {err.details}") from None
        click.echo(partner.id)

    @hlht.command("sync")
    def sync() -> None:
        """Pull every partner's stations, status and policies (we are its customer)."""
        for partner in customer.customer_partners():
            try:
                report = customer.sync_partner(partner)
            except customer.PartnerUnreachable as err:
                click.echo(f"{partner.operator_id} {partner.name}: 失败 {err}")
                continue
            click.echo(
                f"{partner.operator_id} {partner.name}: 充电站 {report.stations}，"
                f"充电枪 {report.connectors}，业务策略 {report.policies}"
            )
