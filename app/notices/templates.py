"""Subscribe-message template ids per operator (its mini-program) and kind, falling back to
the ``SUBSCRIBE_TEMPLATE_<KIND>`` settings; a kind with neither is not sent, and says so
(issue 14: with the defaults nothing was sent and nothing said so)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.config import setting
from app.errors import SUBSCRIBE_TEMPLATE_INVALID
from app.notices.models import NOTIFICATION_KINDS
from app.tenancy.models import Operator

KIND_LABELS = {
    "charge_started": "充电开始",
    "charge_finished": "充电结束",
    "occupancy_reminder": "占位提醒",
    "coupon_expiring": "优惠券即将过期",
    "refund_result": "退款结果",
}
assert set(KIND_LABELS) == set(NOTIFICATION_KINDS)

CONFIGURED = "已配置"
NOT_CONFIGURED = "未配置（不发送）"

# WeChat template ids: letters, digits, "-" and "_" (43 characters today)
_TEMPLATE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class TemplateStatus:
    kind: str
    label: str
    template_id: str  # the one the operator entered ("" when none)
    effective_template_id: str  # what delivery uses: the operator's, else the setting's
    source: str  # operator | settings | none

    @property
    def configured(self) -> bool:
        return bool(self.effective_template_id)

    @property
    def status(self) -> str:
        return CONFIGURED if self.configured else NOT_CONFIGURED


def settings_template(kind: str) -> str:
    return str(setting(f"SUBSCRIBE_TEMPLATE_{kind.upper()}") or "")


def template_status(op: Operator | None, kind: str) -> TemplateStatus:
    own = str(((op.subscribe_templates if op else None) or {}).get(kind) or "")
    fallback = settings_template(kind)
    effective, source = (own, "operator") if own else (fallback, "settings" if fallback else "none")
    return TemplateStatus(kind, KIND_LABELS.get(kind, kind), own, effective, source)


def statuses(op: Operator) -> list[TemplateStatus]:
    return [template_status(op, kind) for kind in NOTIFICATION_KINDS]


def template_for(op: Operator | None, kind: str) -> str:
    return template_status(op, kind).effective_template_id


def not_configured_reason(kind: str) -> str:
    return f"未配置「{KIND_LABELS.get(kind, kind)}」订阅消息模板，不发送"


def merged(current: dict[str, str] | None, changes: dict[str, Any]) -> dict[str, str] | None:
    """The operator's templates after a change: given kinds set, an empty value clears one
    (back to the setting); unknown kinds and malformed ids are refused, nothing saved."""
    unknown = sorted(set(changes) - set(NOTIFICATION_KINDS))
    bad = {
        kind: ["模板 ID 只能包含字母、数字、- 和 _，最多 64 个字符"]
        for kind, value in changes.items()
        if kind in NOTIFICATION_KINDS and value and not _TEMPLATE_ID.match(str(value).strip())
    }
    if unknown or bad:
        details: dict[str, Any] = dict(bad)
        if unknown:
            details["unknown_kinds"] = unknown
        raise SUBSCRIBE_TEMPLATE_INVALID(details=details)
    result = dict(current or {})
    for kind, value in changes.items():
        text = str(value or "").strip()
        if text:
            result[kind] = text
        else:
            result.pop(kind, None)
    return result or None
