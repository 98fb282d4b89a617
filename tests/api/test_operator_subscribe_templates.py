"""Subscribe-message template ids per operator (issue 14): edited through the operators API,
readable (not secret), each kind's status 已配置 / 未配置（不发送）, falling back to the
settings; bad ids refused with nothing saved; audited."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.notices.models import NOTIFICATION_KINDS
from app.tenancy.models import AuditLog, Operator

API = "/api/admin/v1/operators"


def _yc() -> Operator:
    op = db.session.scalar(select(Operator).where(Operator.name == "广东云创"))
    assert op is not None
    return op


def _by_kind(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["kind"]: t for t in body["subscribe_templates"]}


def test_every_kind_is_listed_not_configured_by_default(
    client: FlaskClient, as_yc: dict[str, str]
) -> None:
    body = client.get(f"{API}/{_yc().id}", headers=as_yc).get_json()
    kinds = _by_kind(body)
    assert list(kinds) == list(NOTIFICATION_KINDS)
    assert kinds["charge_started"] == {
        "kind": "charge_started", "label": "充电开始", "template_id": "",
        "effective_template_id": "", "source": "none", "configured": False,
        "status": "未配置（不发送）",
    }  # fmt: skip


def test_operator_sets_and_clears_its_templates_falling_back_to_the_settings(
    app: Flask, client: FlaskClient, as_yc: dict[str, str], monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "SUBSCRIBE_TEMPLATE_REFUND_RESULT", "tmpl-from-settings")
    op_id = _yc().id
    resp = client.patch(
        f"{API}/{op_id}",
        json={"subscribe_templates": {"charge_started": " tmpl_Started-01 ",
                                      "refund_result": "tmpl-own-refund"}},
        headers=as_yc,
    )  # fmt: skip
    assert resp.status_code == 200, resp.get_json()
    kinds = _by_kind(resp.get_json())
    assert (kinds["charge_started"]["template_id"], kinds["charge_started"]["status"]) == (
        "tmpl_Started-01", "已配置")  # fmt: skip
    assert kinds["refund_result"]["source"] == "operator"
    assert kinds["charge_finished"]["status"] == "未配置（不发送）"
    # another change leaves the kinds it does not name alone; "" clears one
    resp = client.patch(
        f"{API}/{op_id}", json={"subscribe_templates": {"refund_result": ""}}, headers=as_yc
    )
    kinds = _by_kind(resp.get_json())
    assert kinds["charge_started"]["template_id"] == "tmpl_Started-01"
    assert kinds["refund_result"] == {
        "kind": "refund_result", "label": "退款结果", "template_id": "",
        "effective_template_id": "tmpl-from-settings", "source": "settings",
        "configured": True, "status": "已配置",
    }  # fmt: skip
    db.session.expire_all()
    assert _yc().subscribe_templates == {"charge_started": "tmpl_Started-01"}
    # readable in the list as well, and audited with before and after
    page = client.get(API, headers=as_yc).get_json()
    assert any(_by_kind(o)["charge_started"]["configured"] for o in page["items"])
    rows = list(db.session.scalars(select(AuditLog).where(AuditLog.action == "operator.update")))
    last = rows[-1]
    assert last.before["subscribe_templates"]["refund_result"] == "tmpl-own-refund"
    assert "refund_result" not in last.after["subscribe_templates"]


def test_bad_template_ids_and_unknown_kinds_are_refused_and_nothing_is_saved(
    client: FlaskClient, as_yc: dict[str, str]
) -> None:
    op_id = _yc().id
    resp = client.patch(
        f"{API}/{op_id}",
        json={"brand_color": "#223344",
              "subscribe_templates": {"charge_started": "ok-id", "refund_result": "bad id!"}},
        headers=as_yc,
    )  # fmt: skip
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "SUBSCRIBE_TEMPLATE_INVALID"
    assert "refund_result" in error["details"]
    resp = client.patch(
        f"{API}/{op_id}", json={"subscribe_templates": {"pile_offline": "x"}}, headers=as_yc
    )
    assert resp.status_code == 422
    db.session.expire_all()
    op = _yc()
    assert op.subscribe_templates is None and op.brand_color != "#223344"
