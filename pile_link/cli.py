"""``flask pile-link``: run the pile link alone (production runs it as separate processes).

The command re-executes ``python -m pile_link`` so that gevent patches the process before
anything else is imported (patching belongs to entry points only).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from flask import Flask

from pile_link.runtime import install_port


def register(app: Flask, api: Any) -> None:
    install_port(app)

    @app.cli.command("pile-link")
    def pile_link_command() -> None:
        """Serve OCPP 1.6J and YKC piles (ports from EVOP_OCPP_PORT / EVOP_YKC_PORT)."""
        click.echo("starting the pile link (python -m pile_link)")
        os.execv(sys.executable, [sys.executable, "-m", "pile_link"])
