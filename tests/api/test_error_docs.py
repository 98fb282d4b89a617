"""The error catalogue is published in the API document: a table in info.description (what
Swagger UI shows at /api/docs) and the x-error-codes list for programs."""

from __future__ import annotations

from flask.testing import FlaskClient

from app.errors import CATALOGUE


def test_the_document_lists_every_error_code_with_status_and_message(client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").get_json()
    listed = {c["code"]: c for c in doc["x-error-codes"]}
    assert list(listed) == list(CATALOGUE)
    assert listed["ORDER_NOT_STOPPABLE"] == {
        "code": "ORDER_NOT_STOPPABLE",
        "status": 409,
        "message": "订单当前状态不能停止",
        "description": CATALOGUE["ORDER_NOT_STOPPABLE"].note,
    }
    description = doc["info"]["description"]
    assert description.startswith("驾驶员端与运营端 API")
    assert "| 错误码 | HTTP | 说明 | 何时出现 |" in description
    for code, entry in CATALOGUE.items():
        assert f"| `{code}` | {entry.status} | {entry.message} |" in description


def test_swagger_ui_reads_the_document(client: FlaskClient) -> None:
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assert b'"url": "/api/openapi.json"' in page.data
