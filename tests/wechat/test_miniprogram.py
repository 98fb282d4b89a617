"""Mini-program and official-account calls: the real client against the fake over HTTP."""

from __future__ import annotations

import socket

import pytest

from app.wechat.config import WeChatEndpoints
from app.wechat.errors import NETWORK_ERROR, WeChatError
from app.wechat.miniprogram import (
    MemoryTokenStore,
    code2session,
    create_official_account_menu,
    get_phone_number,
    miniprogram_menu_button,
    send_subscribe_message,
)
from app.wechat.sandbox.state import FakeWeChat
from tests.support.wechat import MP_APP, OA_APP


def test_code2session_maps_the_code_to_a_stable_openid(endpoints: WeChatEndpoints) -> None:
    first = code2session(MP_APP, "code-o6_bmjrPTlm6_2sgVt7hMZOPfL2M", endpoints=endpoints)
    again = code2session(MP_APP, "code-o6_bmjrPTlm6_2sgVt7hMZOPfL2M", endpoints=endpoints)

    assert first.openid == "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
    assert first.unionid == "union-o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
    assert first.session_key and first.session_key == again.session_key
    assert "session_key" not in repr(first)


def test_code2session_needs_no_access_token(endpoints: WeChatEndpoints, fake: FakeWeChat) -> None:
    code2session(MP_APP, "code-alice", endpoints=endpoints)

    assert fake.token_requests == []


def test_code2session_unknown_code_is_40029(endpoints: WeChatEndpoints) -> None:
    with pytest.raises(WeChatError) as err:
        code2session(MP_APP, "0a3Xyz-not-a-fake-code", endpoints=endpoints)

    assert err.value.errcode == 40029
    assert err.value.errmsg == "invalid code"
    assert not err.value.retryable


def test_code2session_used_code_is_40163_when_codes_are_single_use(
    endpoints: WeChatEndpoints, fake: FakeWeChat
) -> None:
    fake.single_use_codes = True
    code2session(MP_APP, "code-bob", endpoints=endpoints)

    with pytest.raises(WeChatError) as err:
        code2session(MP_APP, "code-bob", endpoints=endpoints)
    assert err.value.errcode == 40163


def test_wrong_secret_is_refused_and_not_echoed(endpoints: WeChatEndpoints) -> None:
    wrong = type(MP_APP)(MP_APP.app_id, "guessed-secret-value")

    with pytest.raises(WeChatError) as err:
        code2session(wrong, "code-alice", endpoints=endpoints)

    assert err.value.errcode == 40125
    assert "guessed-secret-value" not in str(err.value)


def test_unreachable_wechat_is_a_network_error_without_the_secret() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nowhere = WeChatEndpoints(api_base=f"http://127.0.0.1:{port}")

    with pytest.raises(WeChatError) as err:
        code2session(MP_APP, "code-alice", endpoints=nowhere, timeout=2)

    assert err.value.errcode == NETWORK_ERROR
    assert err.value.retryable
    assert MP_APP.app_secret not in str(err.value)


def test_phone_number_from_the_get_phone_number_code(
    endpoints: WeChatEndpoints, store: MemoryTokenStore
) -> None:
    phone = get_phone_number(MP_APP, "phone-13800138000", endpoints=endpoints, store=store)

    assert phone == "13800138000"


def test_phone_number_bad_code(endpoints: WeChatEndpoints, store: MemoryTokenStore) -> None:
    with pytest.raises(WeChatError) as err:
        get_phone_number(MP_APP, "phone-code-from-elsewhere", endpoints=endpoints, store=store)

    assert err.value.errcode == 40029


def test_subscribe_message_is_sent_and_recorded(
    endpoints: WeChatEndpoints, store: MemoryTokenStore, fake: FakeWeChat
) -> None:
    result = send_subscribe_message(
        MP_APP,
        "alice",
        "TPL-charge-finished",
        {"thing1": "万达广场充电站", "amount2": {"value": "12.50元"}},
        page="pages/order/detail?id=42",
        endpoints=endpoints,
        store=store,
    )

    assert result.msgid is not None
    assert fake.subscribe_messages == [
        {
            "app_id": MP_APP.app_id,
            "touser": "alice",
            "template_id": "TPL-charge-finished",
            "page": "pages/order/detail?id=42",
            "data": {"thing1": {"value": "万达广场充电站"}, "amount2": {"value": "12.50元"}},
            "msgid": result.msgid,
        }
    ]


def test_access_token_is_cached_between_calls(
    endpoints: WeChatEndpoints, store: MemoryTokenStore, fake: FakeWeChat
) -> None:
    for n in range(3):
        send_subscribe_message(
            MP_APP, "alice", "TPL", {"thing1": f"第{n}条"}, endpoints=endpoints, store=store
        )
    get_phone_number(MP_APP, "phone-13900139000", endpoints=endpoints, store=store)

    assert fake.token_requests == [MP_APP.app_id]
    assert len(fake.subscribe_messages) == 3


def test_expired_access_token_is_fetched_again_once(
    endpoints: WeChatEndpoints, store: MemoryTokenStore, fake: FakeWeChat
) -> None:
    send_subscribe_message(
        MP_APP, "alice", "TPL", {"thing1": "一"}, endpoints=endpoints, store=store
    )
    fake.expire_access_tokens()  # WeChat side: 42001 on the next call

    send_subscribe_message(
        MP_APP, "alice", "TPL", {"thing1": "二"}, endpoints=endpoints, store=store
    )

    assert fake.token_requests == [MP_APP.app_id, MP_APP.app_id]
    assert [m["data"]["thing1"]["value"] for m in fake.subscribe_messages] == ["一", "二"]


def test_token_store_expiry_triggers_a_new_fetch(
    endpoints: WeChatEndpoints, fake: FakeWeChat
) -> None:
    now = [1000.0]
    store = MemoryTokenStore(clock=lambda: now[0])
    send_subscribe_message(
        MP_APP, "alice", "TPL", {"thing1": "一"}, endpoints=endpoints, store=store
    )
    now[0] += 6900 - 1  # kept for expires_in (7200) minus the 300 s early refresh
    send_subscribe_message(
        MP_APP, "alice", "TPL", {"thing1": "二"}, endpoints=endpoints, store=store
    )
    assert len(fake.token_requests) == 1

    now[0] += 1
    send_subscribe_message(
        MP_APP, "alice", "TPL", {"thing1": "三"}, endpoints=endpoints, store=store
    )
    assert len(fake.token_requests) == 2


def test_subscribe_message_refused_by_the_driver_is_43101(
    endpoints: WeChatEndpoints, store: MemoryTokenStore, fake: FakeWeChat
) -> None:
    fake.refuse_subscribe("carol")

    with pytest.raises(WeChatError) as err:
        send_subscribe_message(
            MP_APP, "carol", "TPL", {"thing1": "充电完成"}, endpoints=endpoints, store=store
        )

    assert err.value.errcode == 43101
    assert fake.subscribe_messages == []


def test_case3_official_account_menu_with_a_mini_program_entry(
    endpoints: WeChatEndpoints, store: MemoryTokenStore, fake: FakeWeChat
) -> None:
    menu = {
        "button": [
            miniprogram_menu_button(
                "扫码充电", MP_APP.app_id, "pages/scan/index", "https://charge.example.cn/h5/scan"
            ),
            {
                "name": "找电站",
                "sub_button": [
                    {"type": "view", "name": "附近电站", "url": "https://charge.example.cn/h5/"},
                    miniprogram_menu_button(
                        "电站列表", MP_APP.app_id, "pages/stations/index", "https://c.example.cn/"
                    ),
                ],
            },
        ]
    }

    create_official_account_menu(OA_APP, menu, endpoints=endpoints, store=store)

    assert fake.menus[OA_APP.app_id] == menu
    assert fake.token_requests == [OA_APP.app_id]


def test_menu_mini_program_entry_without_fallback_url_is_refused(
    endpoints: WeChatEndpoints, store: MemoryTokenStore, fake: FakeWeChat
) -> None:
    bad = {"button": [{"type": "miniprogram", "name": "充电", "appid": MP_APP.app_id,
                       "pagepath": "pages/index/index"}]}  # fmt: skip

    with pytest.raises(WeChatError) as err:
        create_official_account_menu(OA_APP, bad, endpoints=endpoints, store=store)

    assert err.value.errcode == 47001
    assert OA_APP.app_id not in fake.menus
