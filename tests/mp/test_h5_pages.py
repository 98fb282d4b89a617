"""The Flask route /h5/ serves the built H5 driver pages with history fallback."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask


@pytest.fixture
def dist(app: Flask, tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<div id=app>H5</div>", encoding="utf-8")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)", encoding="utf-8")
    app.config["H5_DIST"] = str(tmp_path)
    return tmp_path


def test_index_served(client, dist) -> None:  # type: ignore[no-untyped-def]
    with client.get("/h5/") as resp:
        assert resp.status_code == 200
        assert b"H5" in resp.data


def test_history_fallback_for_deep_link(client, dist) -> None:  # type: ignore[no-untyped-def]
    with client.get("/h5/orders/CO202612040001") as resp:
        assert resp.status_code == 200
        assert b"H5" in resp.data
        assert resp.cache_control.no_cache


def test_asset_served_immutable(client, dist) -> None:  # type: ignore[no-untyped-def]
    with client.get("/h5/assets/index-abc.js") as resp:
        assert resp.status_code == 200
        assert resp.cache_control.immutable


def test_missing_asset_is_404(client, dist) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/h5/assets/nope.js").status_code == 404


def test_not_built_answers_stable_code(app: Flask, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app.config["H5_DIST"] = str(tmp_path / "missing")
    resp = client.get("/h5/stations")
    assert resp.status_code == 503
    assert "H5_NOT_BUILT" in resp.get_data(as_text=True)
    assert "尚未构建" in resp.get_data(as_text=True)
