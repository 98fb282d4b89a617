"""``flask pile-link``: run the pile link alone (production runs it as separate processes).

The command re-executes ``python -m pile_link`` so that gevent patches the process before
anything else is imported (patching belongs to entry points only).
"""

from __future__ import annotations

import os
import sys

import click
from flask import Flask


def register_cli(app: Flask) -> None:
    @app.cli.command("pile-link")
    def pile_link_command() -> None:
        """Serve OCPP 1.6J and YKC piles (ports from EVOP_OCPP_PORT / EVOP_YKC_PORT)."""
        click.echo("starting the pile link (python -m pile_link)")
        os.execv(sys.executable, [sys.executable, "-m", "pile_link"])
