"""Helpers for the drivers' API tests: the demo sub-operators' WeChat apps and the login type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.tenancy.models import Operator

YC_APP = ("wx00000000000000yc", "yc-mp-secret-0123456789")
KC_APP = ("wx00000000000000kc", "kc-mp-secret-0123456789")
OA_APP = ("wx0000000000000oa1", "oa-secret-0123456789")


@dataclass
class Ops:
    yc: Operator
    kc: Operator
    platform: Operator


Login = Callable[..., dict[str, str]]
