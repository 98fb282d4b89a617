import gzip
import hashlib

import pytest
import requests
from requests.adapters import BaseAdapter

from app import errors
from app.wechat import pay

FILE = (
    "交易时间,商户订单号,交易状态,应结订单金额\n`2026-12-03 10:00:00,`T1,`SUCCESS,`0.10\n"
).encode()


class _Adapter(BaseAdapter):
    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body
        self.seen: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):  # type: ignore[override]
        self.seen.append(request)
        resp = requests.Response()
        resp.status_code = 200
        resp._content = self.body
        resp.request = request
        return resp

    def close(self) -> None:
        pass


def _session(body: bytes) -> tuple[requests.Session, _Adapter]:
    session = requests.Session()
    adapter = _Adapter(body)
    session.mount("https://", adapter)
    return session, adapter


def test_download_checks_sha1_and_signs(creds):
    session, adapter = _session(FILE)
    url = "https://api.mch.weixin.qq.com/v3/billdownload/file?token=abc"
    data = pay.download_bill(creds, url, hashlib.sha1(FILE).hexdigest(), http=session)
    assert data == FILE
    assert adapter.seen[0].headers["Authorization"].startswith("WECHATPAY2-SHA256-RSA2048")


def test_download_gzip(creds):
    session, _ = _session(gzip.compress(FILE))
    url = "https://api.mch.weixin.qq.com/v3/billdownload/file?token=abc"
    sha = hashlib.sha1(FILE).hexdigest()
    assert pay.download_bill(creds, url, sha, tar_type="GZIP", http=session) == FILE


def test_download_hash_mismatch_refused(creds):
    session, _ = _session(FILE + b"`extra\n")
    url = "https://api.mch.weixin.qq.com/v3/billdownload/file?token=abc"
    with pytest.raises(errors.DomainError) as exc:
        pay.download_bill(creds, url, hashlib.sha1(FILE).hexdigest(), http=session)
    assert exc.value.code == "STATEMENT_HASH_MISMATCH"
