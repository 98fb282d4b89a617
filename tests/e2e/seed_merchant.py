"""深圳快充 as a new operator before WeChat Pay is switched on, for the browser test of
运营商 → 微信支付: ``python -m tests.e2e.seed_merchant`` with the live server's environment
prints the merchant credentials the demo made for it (a merchant the live server's WeChat
sandbox knows) as JSON, then clears them and the platform keys from the database, as if the
operator had never entered them. The browser test enters them again in the console."""

from __future__ import annotations

import json

from sqlalchemy import delete, select

from app.extensions import db
from app.payments.models import WeChatPayKey
from app.tenancy.models import Operator
from wsgi import compose

OPERATOR = "深圳快充"


def main() -> None:
    app = compose()
    with app.app_context():
        op = db.session.scalar(select(Operator).where(Operator.name == OPERATOR))
        assert op is not None and op.wechat_mch_id, "the demo gives 深圳快充 a sandbox merchant"
        out = {
            "operator_id": op.id,
            "wechat_mch_id": op.wechat_mch_id,
            "wechat_mch_cert_serial": op.wechat_mch_cert_serial,
            "wechat_mch_private_key": op.wechat_mch_private_key,
            "wechat_apiv3_key": op.wechat_apiv3_key,
        }
        op.wechat_mch_id = op.wechat_mch_cert_serial = ""
        op.wechat_mch_private_key = op.wechat_apiv3_key = ""
        db.session.execute(delete(WeChatPayKey).where(WeChatPayKey.operator_id == op.id))
        db.session.commit()
        print(json.dumps(out))


if __name__ == "__main__":
    main()
