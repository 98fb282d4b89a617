"""Domain errors and the catalogue of every error code the platform answers with.

Every error leaves as ``HTTP status + {"error": {"code", "message", "details"}}``: ``code``
is stable for programs, ``message`` is Chinese for people. Each code is listed here once,
with its HTTP status, its Chinese message and when it happens (the API docs publish the
list), as a class named after the code::

    raise errors.ORDER_NOT_STOPPABLE(details={"state": order.state})
    raise errors.REASON_REQUIRED("请填写驳回原因")  # a more specific sentence

A misspelt code fails at import (``from app.errors import ...``) or in mypy. Every entry
is a subclass of its kind (:class:`NotFound`, :class:`Conflict`, ...), so ``except Conflict``
still catches it. ``DomainError(message, code=..., status=...)`` is still accepted while
raise sites move over; a test holds every code raised anywhere to this catalogue.

Nothing here imports Flask: the HTTP side (app/http_errors.py) turns these into responses.
"""

from __future__ import annotations

from typing import Any, TypeVar


class DomainError(Exception):
    status = 400
    code = "BAD_REQUEST"
    message = "请求有误"
    note = ""  # when it happens, for the docs (catalogue entries)

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.code = code or self.code
        self.details = details or {}
        if status is not None:
            self.status = status


# --- the kinds: one per HTTP status family ----------------------------------------------


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"
    message = "资源不存在"


class Conflict(DomainError):
    status = 409
    code = "CONFLICT"
    message = "与现有数据冲突"


class ValidationFailed(DomainError):
    status = 422
    code = "VALIDATION_ERROR"
    message = "提交的数据不正确"


class Unauthorized(DomainError):
    status = 401
    code = "AUTH_REQUIRED"
    message = "请先登录"


class Forbidden(DomainError):
    status = 403
    code = "PERMISSION_DENIED"
    message = "没有权限执行此操作"


class MissingBaseData(DomainError):
    """Base data an operation needs is missing (case #2): say exactly what."""

    status = 409
    code = "BASE_DATA_MISSING"
    message = "基础数据不完整"


class InsufficientBalance(DomainError):
    status = 409
    code = "WALLET_INSUFFICIENT"
    message = "余额不足"


# --- the catalogue ---------------------------------------------------------------------

E = TypeVar("E", bound=DomainError)

#: code -> its entry (a DomainError subclass), in the order of this file
CATALOGUE: dict[str, type[DomainError]] = {}


def _entry(
    kind: type[E], code: str, message: str, note: str, *, status: int | None = None
) -> type[E]:
    """The catalogue entry ``code``: a subclass of ``kind`` (its status unless ``status``)."""
    if code in CATALOGUE:
        raise RuntimeError(f"error code {code} is in the catalogue twice")
    entry = type(
        code,
        (kind,),
        {
            "__module__": __name__,
            "__doc__": note,
            "__qualname__": code,
            "code": code,
            "message": message,
            "note": note,
            "status": status or kind.status,
        },
    )
    CATALOGUE[code] = entry
    return entry  # type: ignore[return-value]


def _kind(kind: type[E], note: str) -> type[E]:
    """A kind is the entry of its own generic code (NOT_FOUND, CONFLICT, ...)."""
    if kind.code in CATALOGUE:
        raise RuntimeError(f"error code {kind.code} is in the catalogue twice")
    kind.note = note
    CATALOGUE[kind.code] = kind
    return kind


def entry(code: str) -> type[DomainError]:
    """The entry of a code known only at run time (KeyError when it is not catalogued)."""
    return CATALOGUE[code]


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


# generic codes, and what the HTTP layer answers by itself
BAD_REQUEST = _kind(DomainError, "请求格式不正确（如不是 JSON）")
VALIDATION_ERROR = _kind(ValidationFailed, "请求字段校验未通过：details.fields 逐字段说明")
AUTH_REQUIRED = _kind(Unauthorized, "未带登录凭证（Authorization: Bearer ...）")
PERMISSION_DENIED = _kind(Forbidden, "缺少执行此操作的权限：details.permission 为所需权限")
NOT_FOUND = _kind(NotFound, "资源不存在，或不在本运营商范围内；或请求的地址不存在")
CONFLICT = _kind(Conflict, "与现有数据冲突")
BASE_DATA_MISSING = _kind(MissingBaseData, "操作所需的基础数据不完整")
WALLET_INSUFFICIENT = _kind(
    InsufficientBalance, "余额不足以启动充电或扣款：details 给出余额与所需金额"
)
METHOD_NOT_ALLOWED = _entry(
    DomainError, "METHOD_NOT_ALLOWED", "不支持该请求方法", "该地址不支持此 HTTP 方法", status=405
)
PAYLOAD_TOO_LARGE = _entry(
    DomainError, "PAYLOAD_TOO_LARGE", "上传的内容过大", "请求体超过上限", status=413
)
UNSUPPORTED_MEDIA_TYPE = _entry(
    DomainError, "UNSUPPORTED_MEDIA_TYPE", "不支持的内容类型", "Content-Type 不被接受", status=415
)
RATE_LIMITED = _entry(
    DomainError, "RATE_LIMITED", "请求过于频繁，请稍后再试",
    "登录或启动充电过于频繁：details.retry_after 与 Retry-After 头给出等待秒数", status=429,
)  # fmt: skip
HTTP_ERROR = _entry(
    DomainError, "HTTP_ERROR", "请求无法处理",
    "Flask 自身的其他 HTTP 错误：状态码随错误，message 为 HTTP 状态说明", status=400,
)  # fmt: skip
INTERNAL_ERROR = _entry(
    DomainError, "INTERNAL_ERROR", "服务器内部错误，请稍后重试", "未预料的服务器错误（已记录日志）",
    status=500,
)  # fmt: skip
DB_UNAVAILABLE = _entry(
    DomainError, "DB_UNAVAILABLE", "数据库不可用", "/readyz：数据库连接失败", status=503
)
ADMIN_SPA_NOT_BUILT = _entry(
    DomainError, "ADMIN_SPA_NOT_BUILT", "管理后台尚未构建：请运行 make run 或 make spa",
    "/admin/：管理后台的前端尚未构建", status=503,
)  # fmt: skip

# login and tokens
ADMIN_LOGIN_LOCKED = _entry(
    DomainError, "ADMIN_LOGIN_LOCKED", "登录失败次数过多，请稍后再试",
    "管理员登录：同一账号或同一地址连续输错密码，暂时锁定（details.retry_after 秒后再试）",
    status=429,
)  # fmt: skip
AUTH_INVALID_CREDENTIALS = _entry(
    Unauthorized, "AUTH_INVALID_CREDENTIALS", "用户名或密码错误",
    "管理员登录：用户名或密码错误，或账号已停用"
)  # fmt: skip
AUTH_TOKEN_EXPIRED = _entry(
    Unauthorized, "AUTH_TOKEN_EXPIRED", "登录已过期，请重新登录", "登录凭证已过期"
)
AUTH_TOKEN_INVALID = _entry(
    Unauthorized, "AUTH_TOKEN_INVALID", "登录凭证无效，请重新登录",
    "登录凭证伪造、已被吊销（如改密码后），或其用户已不存在",
)  # fmt: skip
TOKEN_REVOKED = _entry(
    Unauthorized, "TOKEN_REVOKED", "登录已失效，请重新登录",
    "司机的登录凭证已作废：已退出登录，或账号被停用/启用后所有登录都已结束",
)  # fmt: skip
DRIVER_DISABLED = _entry(
    Forbidden, "DRIVER_DISABLED", "账号已停用，如有疑问请联系客服",
    "司机账号已被运营商停用（details.reason 为原因），不能登录或使用",
)  # fmt: skip
DRIVER_ALREADY_DISABLED = _entry(
    Conflict, "DRIVER_ALREADY_DISABLED", "该会员已停用", "停用一个已停用的会员"
)
DRIVER_NOT_DISABLED = _entry(
    Conflict, "DRIVER_NOT_DISABLED", "该会员未停用", "启用一个未停用的会员"
)
PASSWORD_TOO_SHORT = _entry(
    ValidationFailed, "PASSWORD_TOO_SHORT", "密码过短", "新密码短于最小长度"
)
WECHAT_CODE_INVALID = _entry(
    Unauthorized, "WECHAT_CODE_INVALID", "微信登录凭证无效或已使用，请重新登录",
    "司机登录：wx.login 的 code 无效、已使用或被微信判为风险用户",
)  # fmt: skip
WECHAT_PHONE_CODE_INVALID = _entry(
    ValidationFailed, "WECHAT_PHONE_CODE_INVALID", "手机号授权码无效，请重新授权",
    "绑定手机号：getPhoneNumber 的 code 无效或过期",
)  # fmt: skip
WECHAT_UNAVAILABLE = _entry(
    DomainError, "WECHAT_UNAVAILABLE", "微信服务暂时不可用，请稍后重试",
    "调用微信接口失败（网络或微信侧错误）：details.errcode", status=502,
)  # fmt: skip
MINIPROGRAM_UNKNOWN = _entry(
    NotFound, "MINIPROGRAM_UNKNOWN", "小程序未在平台配置", "登录所用的小程序 AppID 不属于任何运营商"
)  # fmt: skip
OFFICIAL_ACCOUNT_UNKNOWN = _entry(
    NotFound, "OFFICIAL_ACCOUNT_UNKNOWN", "公众号未在平台配置",
    "网页授权所用的公众号 AppID 不属于任何运营商（H5 页面）",
)  # fmt: skip
MINIPROGRAM_APPID_MISSING = _entry(
    ValidationFailed, "MINIPROGRAM_APPID_MISSING",
    "未配置小程序 AppID（EVOP_MINIPROGRAM_APPID 或运营商的小程序配置）",
    "生成公众号菜单或小程序链接时没有可用的小程序 AppID",
)  # fmt: skip

# operators, admins, roles, permissions
PLATFORM_OPERATOR_MISSING = _entry(
    Conflict, "PLATFORM_OPERATOR_MISSING", "平台运营商未初始化", "系统尚无平台运营商（未初始化）"
)  # fmt: skip
PLATFORM_ONLY = _entry(
    Forbidden, "PLATFORM_ONLY", "只有平台运营商可以创建子运营商",
    "子运营商的管理员尝试仅平台可做的操作"
)  # fmt: skip
OPERATOR_REQUIRED = _entry(
    ValidationFailed, "OPERATOR_REQUIRED", "请指定运营商", "平台管理员创建数据时未指定所属运营商"
)  # fmt: skip
OPERATOR_NOT_FOUND = _entry(
    ValidationFailed, "OPERATOR_NOT_FOUND", "运营商不存在",
    "引用了不存在的运营商（如站点的可见运营商）"
)  # fmt: skip
OPERATOR_NAME_TAKEN = _entry(Conflict, "OPERATOR_NAME_TAKEN", "运营商名称已存在", "运营商重名")
WECHAT_APP_ID_TAKEN = _entry(
    Conflict, "WECHAT_APP_ID_TAKEN", "该小程序 AppID 已被其他运营商使用",
    "一个小程序只属于一个运营商（不说明是哪一个）"
)  # fmt: skip
WECHAT_MCH_ID_TAKEN = _entry(
    Conflict, "WECHAT_MCH_ID_TAKEN", "该微信支付商户号已被其他运营商使用",
    "一个商户号只属于一个运营商（不说明是哪一个）"
)  # fmt: skip
WECHAT_PUBLIC_KEY_INVALID = _entry(
    ValidationFailed, "WECHAT_PUBLIC_KEY_INVALID", "微信支付公钥不正确",
    "公钥 ID 应以 PUB_KEY_ID_ 开头，公钥应为 PEM 格式"
)  # fmt: skip
HLHT_PARTNER_INVALID = _entry(
    ValidationFailed, "HLHT_PARTNER_INVALID", "互联互通合作平台的信息不完整或不正确",
    "登记合作平台：OperatorID 9 位、密钥 16 位、角色 emsp/cpo（details 按字段说明）"
)  # fmt: skip
HLHT_PLATFORM_ONLY = _entry(
    Forbidden, "HLHT_PLATFORM_ONLY", "互联互通合作平台由平台运营商管理",
    "子运营商尝试查看或修改互联互通合作平台",
)  # fmt: skip
HLHT_PARTNER_NOT_FOUND = _entry(
    NotFound, "HLHT_PARTNER_NOT_FOUND", "合作平台不存在", "按 id 找不到互联互通合作平台"
)  # fmt: skip
HLHT_PARTNER_TAKEN = _entry(
    Conflict, "HLHT_PARTNER_TAKEN", "该 OperatorID 的合作平台已登记", "合作平台重复登记"
)  # fmt: skip
HLHT_PUSH_NOT_FOUND = _entry(
    NotFound, "HLHT_PUSH_NOT_FOUND", "推送记录不存在", "按 id 找不到互联互通推送"
)
HLHT_PUSH_NOT_RETRYABLE = _entry(
    Conflict, "HLHT_PUSH_NOT_RETRYABLE", "只有发送失败的推送可以重发", "推送尚未失败或已送达"
)
MERCHANT_REFUNDS_IN_FLIGHT = _entry(
    Conflict, "MERCHANT_REFUNDS_IN_FLIGHT",
    "还有退款正在微信支付处理中，暂不能修改商户号或密钥；请待退款完成后再改",
    "退款处理中修改微信支付商户配置",
)  # fmt: skip
WECHAT_IDS_PLATFORM_ONLY = _entry(
    Forbidden, "WECHAT_IDS_PLATFORM_ONLY", "小程序 AppID 和微信支付商户号只能由平台运营商修改",
    "子运营商的管理员尝试修改 AppID 或商户号"
)  # fmt: skip
OPERATOR_COLOR_INVALID = _entry(
    ValidationFailed, "OPERATOR_COLOR_INVALID", "品牌颜色格式应为 #RRGGBB", "品牌颜色格式不正确"
)  # fmt: skip
PERMISSION_UNKNOWN = _entry(
    ValidationFailed, "PERMISSION_UNKNOWN", "未知的权限代码",
    "角色含不存在的权限代码：details.codes"
)  # fmt: skip
PERMISSION_ESCALATION = _entry(
    Forbidden, "PERMISSION_ESCALATION", "不能授予自己没有的权限",
    "授予角色超出自己权限的权限代码：details.codes",
)  # fmt: skip
ROLE_NAME_TAKEN = _entry(Conflict, "ROLE_NAME_TAKEN", "角色名称已存在", "同一运营商内角色重名")
LAST_ADMINISTRATOR = _entry(
    Conflict, "LAST_ADMINISTRATOR",
    "该运营商将没有可管理管理员和角色的账号，操作未执行；请先为另一位管理员授予这些权限",
    "去掉最后一位管理员的管理权限（角色权限、角色分配或停用）",
)  # fmt: skip
ROLE_IN_USE = _entry(
    Conflict, "ROLE_IN_USE", "仍有管理员使用该角色，不能删除", "删除仍被管理员使用的角色"
)
ROLE_OPERATOR_MISMATCH = _entry(
    ValidationFailed, "ROLE_OPERATOR_MISMATCH", "角色不属于该运营商",
    "给管理员分配其他运营商的角色：details.role_id",
)  # fmt: skip
USERNAME_TAKEN = _entry(Conflict, "USERNAME_TAKEN", "用户名已存在", "管理员用户名重复")
CANNOT_DISABLE_SELF = _entry(
    ValidationFailed, "CANNOT_DISABLE_SELF", "不能停用自己的账号", "管理员停用自己的账号"
)

# stations, piles, tariffs, pile history
STATION_NOT_FOUND = _entry(
    NotFound, "STATION_NOT_FOUND", "充电站不存在", "司机查看不存在或不对其开放的电站"
)
STATION_INVALID = _entry(
    ValidationFailed, "STATION_INVALID", "站点信息不正确", "站点字段不正确：details 逐字段说明"
)
STATION_REQUIRED = _entry(ValidationFailed, "STATION_REQUIRED", "请指定站点", "未指定站点")
STATION_HAS_PILES = _entry(
    Conflict, "STATION_HAS_PILES", "站点下还有充电桩，请先移走或删除充电桩", "删除仍有充电桩的站点"
)  # fmt: skip
STATION_HAS_HISTORY = _entry(
    Conflict, "STATION_HAS_HISTORY",
    "站点已有充电订单或充电桩上线记录，不能删除；可将站点状态设为停用", "删除已有历史记录的站点",
)  # fmt: skip
STATION_SHARING_PLATFORM_ONLY = _entry(
    Forbidden, "STATION_SHARING_PLATFORM_ONLY",
    "站点共享给其他运营商需由平台开通，请联系平台管理员", "子运营商自行共享站点给其他租户",
)  # fmt: skip
STATION_OPERATOR_MISMATCH = _entry(
    ValidationFailed, "STATION_OPERATOR_MISMATCH", "站点不属于该充电桩的运营商",
    "把充电桩放进其他运营商的站点",
)  # fmt: skip
STATION_NOT_SERVED = _entry(
    Conflict, "STATION_NOT_SERVED", "该充电站暂未对本小程序开放",
    "扫码或启动：电站不对司机所在运营商的小程序开放",
)  # fmt: skip
STATION_WITHOUT_TARIFF = _entry(
    MissingBaseData, "STATION_WITHOUT_TARIFF", "站点未设置电价，无法充电",
    "站点没有电价：不能报价、不能启动充电",
)  # fmt: skip
TARIFF_WITHOUT_SEGMENTS = _entry(
    MissingBaseData, "TARIFF_WITHOUT_SEGMENTS", "电价没有有效的时段", "站点的电价没有有效版本或时段"
)  # fmt: skip
TARIFF_OPERATOR_MISMATCH = _entry(
    ValidationFailed, "TARIFF_OPERATOR_MISMATCH", "电价不属于该站点的运营商",
    "给站点设置其他运营商的电价",
)  # fmt: skip
TARIFF_SEGMENTS_INCOMPLETE = _entry(
    ValidationFailed, "TARIFF_SEGMENTS_INCOMPLETE", "电价时段须覆盖全天 00:00–24:00",
    "电价时段为空或未覆盖全天",
)  # fmt: skip
TARIFF_SEGMENT_RANGE_INVALID = _entry(
    ValidationFailed, "TARIFF_SEGMENT_RANGE_INVALID", "时段的起止时间无效",
    "某个时段的起止时间不在 00:00–24:00 内或开始不早于结束",
)  # fmt: skip
TARIFF_TIER_INVALID = _entry(
    ValidationFailed, "TARIFF_TIER_INVALID", "时段的类型无效：须为 尖、峰、平、谷 之一",
    "时段类型不是尖峰平谷之一",
)  # fmt: skip
TARIFF_PRICE_INVALID = _entry(
    ValidationFailed, "TARIFF_PRICE_INVALID", "时段的价格无效", "时段的电价或服务费为负或超出精度"
)  # fmt: skip
TARIFF_SEGMENTS_OVERLAP = _entry(
    ValidationFailed, "TARIFF_SEGMENTS_OVERLAP", "电价时段重叠", "两个时段重叠"
)
TARIFF_SEGMENTS_GAP = _entry(
    ValidationFailed, "TARIFF_SEGMENTS_GAP", "部分时间没有设置电价", "时段之间有空档"
)
TARIFF_TIMEZONE_INVALID = _entry(
    ValidationFailed, "TARIFF_TIMEZONE_INVALID", "时区无效", "电价快照的时区无效"
)
PILE_INVALID = _entry(
    ValidationFailed, "PILE_INVALID", "充电桩信息不正确", "充电桩字段不正确：details 逐字段说明"
)
PILE_CODE_TAKEN = _entry(Conflict, "PILE_CODE_TAKEN", "桩编号已存在", "登记重复的桩编号")
CONNECTOR_HAS_ORDERS = _entry(
    Conflict, "CONNECTOR_HAS_ORDERS", "充电枪已有订单，不能删除", "删除已有订单的充电枪",
)  # fmt: skip
DATA_IN_USE = _entry(
    Conflict, "DATA_IN_USE", "该数据仍被其他记录引用或与现有数据重复，操作未执行",
    "数据库完整性约束拒绝了这次写入（引用或唯一性）",
)  # fmt: skip
PILE_CREDENTIALS_REQUIRED = _entry(
    Conflict, "PILE_CREDENTIALS_REQUIRED",
    "已开启充电桩接入认证，不能清除该桩的密码；可重新生成密码",
    "接入认证为必需时清除充电桩密码",
)  # fmt: skip
PILE_NETWORKS_INVALID = _entry(
    ValidationFailed, "PILE_NETWORKS_INVALID",
    "允许接入的网段格式不正确（如 10.8.0.0/16 或 203.0.113.7）", "站点的桩接入网段无法解析",
)  # fmt: skip
PILE_HAS_ORDERS = _entry(
    Conflict, "PILE_HAS_ORDERS", "充电桩已有订单，不能删除；可解绑站点或更换硬件",
    "删除已有订单的充电桩",
)  # fmt: skip
PILE_UNKNOWN = _entry(
    MissingBaseData, "PILE_UNKNOWN", "充电桩未登记", "充电桩上报的桩编号未在平台登记"
)
PILE_WITHOUT_STATION = _entry(
    MissingBaseData, "PILE_WITHOUT_STATION", "充电桩未绑定站点",
    "充电桩没有站点：不能报价或启动充电"
)  # fmt: skip
PILE_OFFLINE = _entry(
    Conflict, "PILE_OFFLINE", "充电桩离线",
    "启动或停止时充电桩不在线（停止时 message 给出桩端停止指引）"
)  # fmt: skip
CONNECTOR_NOT_FOUND = _entry(
    NotFound, "CONNECTOR_NOT_FOUND", "充电枪不存在", "司机启动不存在或不对其开放的充电枪"
)
CONNECTOR_UNKNOWN = _entry(
    MissingBaseData, "CONNECTOR_UNKNOWN", "充电桩没有该号枪", "充电桩上报了未登记的枪号"
)
CONNECTOR_NUMBER_INVALID = _entry(
    ValidationFailed, "CONNECTOR_NUMBER_INVALID", "枪号应在 1~99 之间", "枪号超出 1~99"
)
CONNECTOR_NUMBER_TAKEN = _entry(
    Conflict, "CONNECTOR_NUMBER_TAKEN", "该枪号已存在", "同一充电桩上枪号重复"
)
CONNECTOR_BUSY = _entry(
    Conflict, "CONNECTOR_BUSY", "充电枪正在使用中",
    "充电枪有进行中的订单或状态不可用：details.own_order_no 为本人的订单",
)  # fmt: skip
CONNECTOR_FAULTED = _entry(Conflict, "CONNECTOR_FAULTED", "充电枪故障，暂不可用", "充电枪故障")
TIME_NAIVE = _entry(ValidationFailed, "TIME_NAIVE", "时间须带时区", "查询或设置的时间没有时区")
TIME_RANGE_INVALID = _entry(
    ValidationFailed, "TIME_RANGE_INVALID", "结束时间须晚于开始时间", "时间范围的结束不晚于开始"
)
TIME_RANGE_TOO_LONG = _entry(
    ValidationFailed, "TIME_RANGE_TOO_LONG", "时间范围不能超过一年", "查询的时间范围超过一年"
)
TIMEZONE_INVALID = _entry(ValidationFailed, "TIMEZONE_INVALID", "时区无效", "时区名称无效")

# members and wallets
DRIVER_NOT_FOUND = _entry(
    NotFound, "DRIVER_NOT_FOUND", "会员不存在", "会员不存在或不在本运营商范围"
)
WALLET_NOT_FOUND = _entry(NotFound, "WALLET_NOT_FOUND", "钱包不存在", "司机没有钱包")
AMOUNT_INVALID = _entry(
    ValidationFailed, "AMOUNT_INVALID", "金额必须是非零整数（分）", "钱包调整金额为 0 或不是整数分"
)  # fmt: skip
REASON_REQUIRED = _entry(
    ValidationFailed, "REASON_REQUIRED", "请填写原因", "改动金额、订单或认证的操作没有填写原因"
)
NAME_REQUIRED = _entry(ValidationFailed, "NAME_REQUIRED", "请填写名称", "名称为空")
QUANTITY_INVALID = _entry(ValidationFailed, "QUANTITY_INVALID", "数量无效", "发放数量超出范围")
PRICING_GROUP_INVALID = _entry(
    ValidationFailed, "PRICING_GROUP_INVALID", "未知的会员分组", "把会员设为不存在的会员分组"
)
PRICING_GROUP_NOT_FOUND = _entry(
    NotFound, "PRICING_GROUP_NOT_FOUND", "会员分组不存在", "设置折扣时会员分组不存在"
)
PRICING_GROUP_EXISTS = _entry(
    Conflict, "PRICING_GROUP_EXISTS", "分组代码已存在", "新建的会员分组代码已存在"
)
PRICING_GROUP_CODE_INVALID = _entry(
    ValidationFailed, "PRICING_GROUP_CODE_INVALID", "分组代码只能包含字母、数字和下划线",
    "会员分组代码含其他字符",
)  # fmt: skip
DISCOUNT_RATE_INVALID = _entry(
    ValidationFailed, "DISCOUNT_RATE_INVALID",
    "折扣须为 0 到 1 之间、最多 4 位小数的支付比例（七折 = 0.7）", "服务费折扣比例无效",
)  # fmt: skip
CARD_TAKEN = _entry(Conflict, "CARD_TAKEN", "卡号已被使用", "充电卡号已绑定其他会员")

# coupons and top-up offers
COUPON_NOT_FOUND = _entry(NotFound, "COUPON_NOT_FOUND", "优惠券不存在", "优惠券不存在")
COUPON_TEMPLATE_INVALID = _entry(
    ValidationFailed, "COUPON_TEMPLATE_INVALID", "优惠券模板不正确", "优惠券面额、门槛或金额不完整"
)  # fmt: skip
COUPON_KIND_INVALID = _entry(
    ValidationFailed, "COUPON_KIND_INVALID",
    "优惠券类型须为 fixed、threshold、percent、service_only 之一", "优惠券类型无效",
)  # fmt: skip
COUPON_PERCENT_INVALID = _entry(
    ValidationFailed, "COUPON_PERCENT_INVALID", "折扣须为 0 到 1 之间的支付比例（八折 = 0.8）",
    "折扣券的折扣无效",
)  # fmt: skip
COUPON_STATIONS_INVALID = _entry(
    ValidationFailed, "COUPON_STATIONS_INVALID", "适用站点须为该运营商的站点",
    "优惠券的适用站点不属于其运营商",
)  # fmt: skip
COUPON_VALIDITY_INVALID = _entry(
    ValidationFailed, "COUPON_VALIDITY_INVALID",
    "有效期须为固定日期，或自发放起若干天 / 若干月，三选一", "优惠券有效期设置不正确",
)  # fmt: skip
COUPON_TEMPLATE_INACTIVE = _entry(
    Conflict, "COUPON_TEMPLATE_INACTIVE", "优惠券模板已停用", "发放已停用模板的优惠券"
)
COUPON_LIMIT_REACHED = _entry(
    Conflict, "COUPON_LIMIT_REACHED", "超过每人限领数量", "发放超过每人限领数量"
)
COUPON_NOT_REVOCABLE = _entry(
    Conflict, "COUPON_NOT_REVOCABLE", "只能撤回未使用的优惠券", "撤回已使用、过期或已撤回的优惠券"
)  # fmt: skip
COUPON_NOT_APPLICABLE = _entry(
    ValidationFailed, "COUPON_NOT_APPLICABLE", "该优惠券不可用于本订单",
    "司机为订单选择了不适用的优惠券（站点、门槛、状态）",
)  # fmt: skip
TOPUP_OFFER_INVALID = _entry(
    ValidationFailed, "TOPUP_OFFER_INVALID", "充值活动设置不正确",
    "充值赠券活动的门槛或优惠券不正确"
)  # fmt: skip
TOPUP_OFFER_NOT_FOUND = _entry(
    NotFound, "TOPUP_OFFER_NOT_FOUND", "充值活动不存在或已结束", "充值时选择的活动不存在或已结束"
)  # fmt: skip
TOPUP_OFFER_NOT_REACHED = _entry(
    ValidationFailed, "TOPUP_OFFER_NOT_REACHED", "充值金额未达到活动门槛",
    "充值金额低于所选活动的门槛"
)  # fmt: skip

# charging and orders
ORDER_STATE_CONFLICT = _entry(
    Conflict, "ORDER_STATE_CONFLICT", "订单当前状态不允许此操作",
    "订单状态已被其他操作改变（如充电桩的记录先到）：details 给出当前状态与被拒绝的变化",
)  # fmt: skip
ORDER_NOT_FOUND = _entry(
    NotFound, "ORDER_NOT_FOUND", "订单不存在", "订单不存在或不属于本人：details.order_no"
)
ORDER_NOT_STOPPABLE = _entry(
    Conflict, "ORDER_NOT_STOPPABLE", "订单当前状态不能停止",
    "停止一个不在充电中的订单：details.state"
)  # fmt: skip
ORDER_ALREADY_SETTLED = _entry(
    Conflict, "ORDER_ALREADY_SETTLED", "订单已结算，不能更换优惠券", "结算后更换优惠券"
)
ORDER_NOT_SETTLED = _entry(
    Conflict, "ORDER_NOT_SETTLED", "订单尚未结算，不能更正", "更正尚未结算的订单"
)
REQUEST_ID_REUSED = _entry(
    Conflict, "REQUEST_ID_REUSED", "请求编号已被使用", "client_request_id 已被另一位司机使用"
)
STOP_REJECTED = _entry(
    Conflict, "STOP_REJECTED", "充电桩拒绝停止，请在充电桩上停止充电", "充电桩拒绝远程停止"
)
STOP_TIMEOUT = _entry(
    Conflict, "STOP_TIMEOUT", "充电桩未响应停止指令，请稍后重试或在充电桩上停止",
    "充电桩未在时限内响应停止指令",
)  # fmt: skip
QR_UNKNOWN = _entry(
    NotFound, "QR_UNKNOWN", "无法识别的二维码，请扫描充电桩上的二维码",
    "扫码内容不是本平台或互联互通的充电枪二维码",
)  # fmt: skip
HLHT_NOT_AVAILABLE = _entry(
    Conflict, "HLHT_NOT_AVAILABLE", "互联互通暂未开通",
    "扫了合作方的 hlht:// 二维码（互联互通尚未开通）"
)  # fmt: skip
HLHT_PARTNER_UNKNOWN = _entry(
    NotFound, "HLHT_PARTNER_UNKNOWN", "该二维码所属运营商尚未与本平台互联，请换一台充电桩",
    "hlht:// 二维码的 OperatorID 不是作为桩主登记的合作平台：details.operator_id",
)  # fmt: skip
HLHT_PARTNER_UNREACHABLE = _entry(
    Conflict, "HLHT_PARTNER_UNREACHABLE", "合作运营商平台暂时无法连接，请稍后再试",
    "调用合作平台的接口没有可读的应答（网络、HTTP 错误、签名不符）",
)  # fmt: skip
HLHT_AUTH_REFUSED = _entry(
    Conflict, "HLHT_AUTH_REFUSED", "合作运营商的充电枪暂不可用，请检查是否插好枪或换一台充电桩",
    "query_equip_auth 未通过：details.fail_reason",
)  # fmt: skip
HLHT_START_FAILED = _entry(
    Conflict, "HLHT_START_FAILED", "合作运营商的充电桩启动失败，请稍后再试",
    "query_start_charge 未成功：details.fail_reason；订单记为失败，不扣费",
)  # fmt: skip
HLHT_STOP_FAILED = _entry(
    Conflict, "HLHT_STOP_FAILED", "合作运营商未能停止充电，请在充电桩上停止",
    "query_stop_charge 未成功；订单状态以合作方查询结果为准",
)  # fmt: skip
HLHT_ORDER_RUNNING = _entry(
    Conflict, "HLHT_ORDER_RUNNING", "您有正在进行的充电订单，请先结束",
    "司机已有进行中的订单（本平台或合作方的桩）：details.order_no",
)  # fmt: skip

# billing: abnormal orders, corrections, occupancy fees
ABNORMAL_KIND_INVALID = _entry(
    ValidationFailed, "ABNORMAL_KIND_INVALID", "未知的异常类型", "异常订单查询的类型无效"
)
CORRECTION_EMPTY = _entry(
    ValidationFailed, "CORRECTION_EMPTY", "请填写要更正的结束时间或电量", "更正订单时两项都没有填写"
)  # fmt: skip
CORRECTION_END_INVALID = _entry(
    ValidationFailed, "CORRECTION_END_INVALID", "结束时间须带时区且不早于开始时间",
    "更正的结束时间没有时区或早于开始时间",
)  # fmt: skip
CORRECTION_ENERGY_INVALID = _entry(
    ValidationFailed, "CORRECTION_ENERGY_INVALID", "电量须为不小于 0 的整数（Wh）", "更正的电量无效"
)  # fmt: skip
OCCUPANCY_PRICE_INVALID = _entry(
    ValidationFailed, "OCCUPANCY_PRICE_INVALID",
    "占位费单价须为不小于 0、最多 4 位小数的金额（元/分钟）", "占位费单价无效",
)  # fmt: skip
OCCUPANCY_GRACE_INVALID = _entry(
    ValidationFailed, "OCCUPANCY_GRACE_INVALID", "免费时长须为不小于 0 的整数分钟", "免费时长无效"
)  # fmt: skip
OCCUPANCY_CAP_INVALID = _entry(
    ValidationFailed, "OCCUPANCY_CAP_INVALID", "封顶金额须为不小于 0 的整数（分）", "封顶金额无效"
)  # fmt: skip

# payments: top-ups, refunds, merchants
TOPUP_AMOUNT_INVALID = _entry(
    ValidationFailed, "TOPUP_AMOUNT_INVALID", "充值金额超出范围", "充值金额低于下限或高于上限"
)
TOPUP_NOT_FOUND = _entry(
    NotFound, "TOPUP_NOT_FOUND", "充值记录不存在", "充值单号不存在或不属于本人"
)
DRIVER_NO_OPENID = _entry(
    Conflict, "DRIVER_NO_OPENID", "请先通过微信登录", "司机没有微信 openid，无法微信支付"
)
MERCHANT_NOT_CONFIGURED = _entry(
    Conflict, "MERCHANT_NOT_CONFIGURED", "该运营商未配置微信支付",
    "收款运营商未配置微信支付商户（证书、密钥）：充值或退款无法进行（case #22）",
)  # fmt: skip
WECHATPAY_UNAVAILABLE = _entry(
    DomainError, "WECHATPAY_UNAVAILABLE", "微信支付暂时不可用，请稍后重试",
    "调用微信支付失败：details.wechat_code", status=502,
)  # fmt: skip
WECHAT_KEY_KIND_INVALID = _entry(
    ValidationFailed, "WECHAT_KEY_KIND_INVALID", "密钥类型无效", "上传的微信支付密钥类型无效"
)
REFUND_NOT_FOUND = _entry(
    NotFound, "REFUND_NOT_FOUND", "退款申请不存在", "退款申请不存在或不属于本人：details.id"
)
REFUND_IN_PROGRESS = _entry(
    Conflict, "REFUND_IN_PROGRESS", "已有处理中的退款申请，请等待处理完成",
    "司机已有未完成的退款申请",
)  # fmt: skip
NOTHING_TO_REFUND = _entry(
    Conflict, "NOTHING_TO_REFUND", "没有可退款的余额（仅一年内的微信充值可原路退回）",
    "没有一年内的微信充值可原路退回",
)  # fmt: skip
REFUND_AMOUNT_INVALID = _entry(
    ValidationFailed, "REFUND_AMOUNT_INVALID", "退款金额超出可退范围", "退款金额超出可退余额"
)
REFUND_STATE_INVALID = _entry(
    Conflict, "REFUND_STATE_INVALID", "该退款申请已处理", "审核已处理的退款申请：details.state"
)

# drivers: certification, customer service, files
CERTIFICATION_NOT_FOUND = _entry(
    NotFound, "CERTIFICATION_NOT_FOUND", "认证申请不存在", "认证申请不存在或不属于本人"
)
CERTIFICATION_KIND_INVALID = _entry(
    ValidationFailed, "CERTIFICATION_KIND_INVALID", "认证类型应为出租车或网约车", "认证类型无效"
)
CERTIFICATION_FILES_MISSING = _entry(
    ValidationFailed, "CERTIFICATION_FILES_MISSING", "请上传身份证、驾驶证和车辆照片",
    "认证申请缺少图片：details 逐项说明",
)  # fmt: skip
CERTIFICATION_PENDING = _entry(
    Conflict, "CERTIFICATION_PENDING", "已有待审核的认证申请，请等待审核结果",
    "已有待审核的认证申请",
)  # fmt: skip
CERTIFICATION_ALREADY_APPROVED = _entry(
    Conflict, "CERTIFICATION_ALREADY_APPROVED", "您已是认证司机", "再次申请已通过的认证类型"
)
CERTIFICATION_EXCLUSIVE = _entry(
    Conflict, "CERTIFICATION_EXCLUSIVE", "出租车与网约车认证只能二选一，请先撤销现有认证",
    "已有另一种认证时申请或通过认证",
)  # fmt: skip
CERTIFICATION_STATE_INVALID = _entry(
    Conflict, "CERTIFICATION_STATE_INVALID", "认证申请当前状态不能执行此操作",
    "审核或撤销状态不符的认证申请：details.state",
)  # fmt: skip
UPLOAD_NOT_IMAGE = _entry(
    ValidationFailed, "UPLOAD_NOT_IMAGE", "必须是 JPEG、PNG 或 WebP 图片",
    "上传的文件按内容识别不是 JPEG、PNG 或 WebP",
)  # fmt: skip
UPLOAD_TOO_LARGE = _entry(
    DomainError, "UPLOAD_TOO_LARGE", "图片过大", "上传的图片超过大小上限：details.max_bytes",
    status=413,
)  # fmt: skip
FILE_NOT_FOUND = _entry(NotFound, "FILE_NOT_FOUND", "文件不存在", "认证图片不存在")
FILE_MISSING = _entry(
    NotFound, "FILE_MISSING", "认证图片文件已丢失，请让车主重新提交认证材料",
    "申请记录在，但图片文件不在存储中",
)  # fmt: skip
CUSTOMER_SERVICE_INVALID = _entry(
    ValidationFailed, "CUSTOMER_SERVICE_INVALID", "客服电话信息不正确",
    "客服电话字段不正确：details 逐字段说明",
)  # fmt: skip
MONTH_INVALID = _entry(
    ValidationFailed, "MONTH_INVALID", "月份格式不正确，应为 YYYY-MM（如 2019-10）",
    "月份不是 YYYY-MM，或不在 2000-01 至下个月之间",
)  # fmt: skip

# statement reconciliation (WeChat Pay daily bills)
STATEMENT_FORMAT_INVALID = _entry(
    ValidationFailed, "STATEMENT_FORMAT_INVALID", "微信账单格式无法识别",
    "微信对账单的表头、行或金额不合格式：details.line 指出第几行",
)  # fmt: skip
STATEMENT_HASH_MISMATCH = _entry(
    Conflict, "STATEMENT_HASH_MISMATCH", "微信账单校验失败（摘要不一致），已拒收",
    "下载的账单 SHA1 与申请账单时微信给出的 hash_value 不一致",
)  # fmt: skip
H5_NOT_BUILT = _entry(
    DomainError, "H5_NOT_BUILT", "车主 H5 页面尚未构建（miniprogram_api/h5/dist 不存在）",
    "/h5/：车主 H5 页面的前端尚未构建", status=503,
)  # fmt: skip
EXPORT_TOO_MANY_ROWS = _entry(
    ValidationFailed, "EXPORT_TOO_MANY_ROWS",
    "导出的行数超过上限，请缩小筛选范围（如时间段、站点）后再导出",
    "导出匹配的行数超过上限：details.rows 匹配行数，details.limit 上限",
)  # fmt: skip
SUBSCRIBE_TEMPLATE_INVALID = _entry(
    ValidationFailed, "SUBSCRIBE_TEMPLATE_INVALID",
    "订阅消息模板 ID 不合格式（字母、数字、- 和 _），或消息类型不存在",
    "订阅消息模板：details 按消息类型指出哪个 ID 不合格式，details.unknown_kinds 不存在的类型",
)  # fmt: skip
HLHT_CONNECTOR_NOT_SYNCED = _entry(
    NotFound, "HLHT_CONNECTOR_NOT_SYNCED", "暂未获取到该充电枪的信息，请稍后再试或换一台充电桩",
    "扫码的合作方充电枪不在已同步的合作方站点中：details.operator_id、details.connector_id",
)  # fmt: skip
HLHT_PRICE_UNKNOWN = _entry(
    Conflict, "HLHT_PRICE_UNKNOWN", "暂未获取到该充电枪的价格，请稍后再试或换一台充电桩",
    "合作方充电枪没有已同步的计费策略（query_equip_business_policy），不能估算费用",
)  # fmt: skip
STATEMENT_DATE_INVALID = _entry(
    ValidationFailed, "STATEMENT_DATE_INVALID",
    "对账日期不正确：应为 YYYY-MM-DD，且是今天（北京时间）之前的日期",
    "对账日期不是 YYYY-MM-DD、不是过去的一天，或日期范围起止颠倒",
)  # fmt: skip
STATEMENT_RUN_NOT_FOUND = _entry(
    NotFound, "STATEMENT_RUN_NOT_FOUND", "对账记录不存在",
    "没有这条对账记录，或它不属于当前运营商",
)  # fmt: skip
CARD_NUMBER_INVALID = _entry(
    ValidationFailed, "CARD_NUMBER_INVALID", "卡号只能由 4 到 32 位字母和数字组成",
    "发放充电卡：卡号为空、太长或含字母数字以外的字符",
)  # fmt: skip
CARD_NOT_FOUND = _entry(
    NotFound, "CARD_NOT_FOUND", "充电卡或充电密码不存在", "没有这张卡或密码，或它不属于当前运营商"
)
COUPON_GROUP_GRANT_KEY_INVALID = _entry(
    ValidationFailed, "COUPON_GROUP_GRANT_KEY_INVALID",
    "发放请求编号不正确：应为 8 到 64 位字母、数字、- 或 _",
    "按会员分组发券：request_id（同一请求重试时不重复发放）为空或不合格式",
)  # fmt: skip
HLHT_STATEMENT_MONTH_INVALID = _entry(
    ValidationFailed, "HLHT_STATEMENT_MONTH_INVALID", "对账月份应为 YYYY-MM，例如 2026-11",
    "导出互联互通对账单：month 为空或不是一个年月",
)  # fmt: skip
CHARGING_PASSWORD_UNAVAILABLE = _entry(
    Conflict, "CHARGING_PASSWORD_UNAVAILABLE", "暂时无法生成充电密码，请稍后重试",
    "发放或重置充电密码：多次随机生成的密码都已被本运营商的其他会员占用（极少发生）",
)  # fmt: skip
CHARGING_PASSWORD_RESET_RATE_LIMITED = _entry(
    DomainError, "CHARGING_PASSWORD_RESET_RATE_LIMITED", "重置充电密码过于频繁，请稍后再试",
    "司机重置自己的充电密码超过每小时次数上限：details.retry_after 与 Retry-After 头给出等待秒数",
    status=429,
)  # fmt: skip
