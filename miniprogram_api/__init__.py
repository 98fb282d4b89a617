"""The drivers' API for the WeChat mini-program: ``/api/mp/v1`` (built by the drivers' API
issue; registered here so the factory composes every surface the same way)."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def register(app: Flask, api: Api) -> None:
    # no routes yet: the drivers' API arrives with its own issue
    return None
