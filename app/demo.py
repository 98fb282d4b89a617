"""Demo data for ``make run``: idempotent, so running it twice changes nothing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from werkzeug.security import check_password_hash

from app.catalogue import piles, stations, tariffs
from app.catalogue.models import Pile, PileProtocol, Station, Tariff
from app.drivers import members
from app.extensions import db
from app.hlht import partners
from app.hlht.sandbox import MOUNT_PREFIX as SANDBOX_PREFIX
from app.hlht.sandbox import PartnerSandbox
from app.ledger import wallet
from app.pricing import Segment
from app.tenancy.admin_auth import actor_for_user, hash_password
from app.tenancy.models import AdminUser, Driver, DriverCard, Operator, Role
from app.tenancy.permissions import ALL_CODES, SUB_OPERATOR_ADMIN_CODES
from app.uow import transactional
from app.wechat.crypto import load_private_key
from app.wechat.sandbox.signing import pem_public
from app.wechat.sandbox.state import DemoMerchant, FakeWeChat, make_test_merchant

PLATFORM_NAME = "粤充平台"

DEMO_LOGINS = (
    ("admin", "admin123", PLATFORM_NAME),
    ("yc_admin", "yc123456", "广东云创"),
    ("kc_admin", "kc123456", "深圳快充"),
)


def _seg(start: str, end: str, tier: str, e: str, s: str) -> Segment:
    def minutes(hhmm: str) -> int:
        h, m = hhmm.split(":")
        return int(h) * 60 + int(m)

    return Segment(minutes(start), minutes(end), tier, Decimal(e), Decimal(s))


# Guangdong-style time-of-use prices (yuan/kWh): 谷 valley, 平 flat, 峰 peak, 尖 sharp.
# One price pair per tier: YKC piles hold at most four (YKC v1.6 §6.8).
GD_TOU = [
    _seg("00:00", "08:00", "valley", "0.3500", "0.5000"),
    _seg("08:00", "10:00", "flat", "0.6420", "0.6000"),
    _seg("10:00", "12:00", "peak", "1.0200", "0.6000"),
    _seg("12:00", "14:00", "flat", "0.6420", "0.6000"),
    _seg("14:00", "17:00", "peak", "1.0200", "0.6000"),
    _seg("17:00", "19:00", "flat", "0.6420", "0.6000"),
    _seg("19:00", "22:00", "sharp", "1.2700", "0.6000"),
    _seg("22:00", "24:00", "flat", "0.6420", "0.6000"),
]

SZ_TOU = [
    _seg("00:00", "08:00", "valley", "0.2900", "0.4500"),
    _seg("08:00", "14:00", "flat", "0.6800", "0.5500"),
    _seg("14:00", "19:00", "peak", "1.0500", "0.5500"),
    _seg("19:00", "21:00", "sharp", "1.2300", "0.5500"),
    _seg("21:00", "24:00", "flat", "0.6800", "0.5500"),
]


@dataclass(frozen=True, slots=True)
class SimulatedPile:
    """A pile ``make run`` simulates in its own process (EVOP_DEMO_PILES, demo mode only):
    its own code, never one of the demo piles real or third-party piles connect as."""

    code: str
    protocol: str  # a PileProtocol value
    connectors: int
    current_type: str
    rated_power_w: int
    vendor: str
    model: str


# the simulated piles' station, under 广东云创 (whose official account the sandbox's demo
# drivers log in with), and the piles the process runs there
SIMULATED_STATION = "云创·演示模拟站"
SIMULATED_PILES = (
    SimulatedPile("SIM-OCPP-01", PileProtocol.OCPP16, 2, "AC", 7000, "模拟桩", "SIM-AC7"),
    SimulatedPile("55031499000001", PileProtocol.YKC, 2, "DC", 60000, "模拟桩", "SIM-DC60"),
)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    created: bool
    logins: tuple[tuple[str, str, str], ...]


def _operator(name: str, kind: str, parent: Operator | None, color: str) -> Operator:
    op = db.session.scalar(select(Operator).where(Operator.name == name))
    if op is None:
        op = Operator(
            name=name,
            kind=kind,
            parent_id=parent.id if parent else None,
            brand_color=color,
            contact_name="演示联系人",
            contact_phone="020-00000000",
        )
        db.session.add(op)
        db.session.flush()
    return op


def _admin(
    op: Operator, username: str, password: str, role_name: str, codes: frozenset[str]
) -> AdminUser:
    role = db.session.scalar(select(Role).where(Role.operator_id == op.id, Role.name == role_name))
    if role is None:
        role = Role(operator_id=op.id, name=role_name, permissions=sorted(codes))
        db.session.add(role)
    user = db.session.scalar(select(AdminUser).where(AdminUser.username == username))
    if user is None:
        user = AdminUser(
            operator_id=op.id,
            username=username,
            display_name=f"{op.name}管理员",
            password_hash=hash_password(password),
            roles=[role],
        )
        db.session.add(user)
    db.session.flush()
    return user


def _station(
    admin: AdminUser, name: str, tariff_name: str, segs: list[Segment], **fields: object
) -> Station:
    st = db.session.scalar(select(Station).where(Station.name == name))
    if st is not None:
        return st
    actor = actor_for_user(admin)
    tariff = db.session.scalar(
        select(Tariff).where(Tariff.operator_id == admin.operator_id, Tariff.name == tariff_name)
    )
    if tariff is None:
        tariff = tariffs.create_tariff(actor, {"name": tariff_name, "segments": segs})
    return stations.create_station(actor, {"name": name, "tariff_id": tariff.id, **fields})


def _pile(admin: AdminUser, station: Station, **fields: object) -> None:
    if db.session.scalar(select(Pile).where(Pile.code == fields["code"])) is None:
        piles.create_pile(actor_for_user(admin), {"station_id": station.id, **fields})


@transactional
def seed_demo() -> DemoSummary:
    created = db.session.scalar(select(AdminUser).where(AdminUser.username == "admin")) is None
    platform = _operator(PLATFORM_NAME, "platform", None, "#1677ff")
    yc = _operator("广东云创", "sub", platform, "#13a8a8")
    kc = _operator("深圳快充", "sub", platform, "#fa8c16")
    _admin(platform, "admin", "admin123", "平台超级管理员", ALL_CODES)
    yc_admin = _admin(yc, "yc_admin", "yc123456", "运营管理员", SUB_OPERATOR_ADMIN_CODES)
    kc_admin = _admin(kc, "kc_admin", "kc123456", "运营管理员", SUB_OPERATOR_ADMIN_CODES)
    db.session.flush()

    nanshan = _station(
        yc_admin, "云创·深圳南山科技园站", "广东分时电价", GD_TOU,
        address="深圳市南山区科技园南区高新南七道", city="深圳",
        longitude=Decimal("113.947830"), latitude=Decimal("22.531460"),
    )  # fmt: skip
    _station(
        yc_admin, "云创·广州天河站", "广东分时电价", GD_TOU,
        address="广州市天河区天河路 385 号", city="广州",
        longitude=Decimal("113.330430"), latitude=Decimal("23.137740"),
    )  # fmt: skip
    _station(
        kc_admin, "快充·深圳福田会展中心站", "深圳分时电价", SZ_TOU,
        address="深圳市福田区福华三路会展中心", city="深圳",
        longitude=Decimal("114.059560"), latitude=Decimal("22.531030"),
    )  # fmt: skip
    _pile(
        yc_admin, nanshan, code="DEMO-OCPP-01", protocol=PileProtocol.OCPP16, vendor="循道",
        model="XD-AC7", firmware="1.6.3", current_type="AC", rated_power_w=7000,
        connector_count=2,
    )  # fmt: skip
    _pile(
        yc_admin, nanshan, code="55031412782305", protocol=PileProtocol.YKC, vendor="云快充",
        model="YKC-DC120", firmware="v1.6", current_type="DC", rated_power_w=120000,
        connector_count=2,
    )  # fmt: skip

    simulated = _station(
        yc_admin, SIMULATED_STATION, "广东分时电价", GD_TOU,
        address="深圳市南山区科技园南区（模拟充电桩，随 make run 启动）", city="深圳",
        longitude=Decimal("113.943210"), latitude=Decimal("22.528930"),
    )  # fmt: skip
    for sim in SIMULATED_PILES:
        _pile(
            yc_admin, simulated, code=sim.code, protocol=sim.protocol, vendor=sim.vendor,
            model=sim.model, firmware="sim-1.0", current_type=sim.current_type,
            rated_power_w=sim.rated_power_w, connector_count=sim.connectors,
        )  # fmt: skip

    card = db.session.scalar(select(DriverCard).where(DriverCard.id_tag == "DEMO-CARD-01"))
    if card is None:
        driver = members.create_driver(
            yc.id, openid="demo-openid-0001", unionid="union-demo-openid-0001",
            nickname="演示车主", phone="13800000000",
        )  # fmt: skip
        members.add_card(driver, "DEMO-CARD-01", kind="card")
        # the same driver's card as a YKC pile reads it (the UID, unpadded hex)
        members.add_card(driver, "D14B0A54", kind="card")
        wallet.post_entry(
            driver.id, 10_000, "manual_credit", idempotency_key="demo:initial-balance",
            note="演示数据初始余额",
        )  # fmt: skip
    _demo_partner()
    return DemoSummary(created=created, logins=DEMO_LOGINS)


# the demo's interconnection partner (README): every secret and key the same but the IV
DEMO_PARTNER_ID = "MA01DEMO9"
DEMO_PARTNER_SECRET = "a2b4c6d8e0f1a3b5"
DEMO_PARTNER_IV = "f0e1d2c3b4a59687"


def _demo_partner() -> None:
    if partners.by_operator_id(DEMO_PARTNER_ID) is not None:
        return
    partners.add_partner(
        {
            "operator_id": DEMO_PARTNER_ID, "name": "演示互联平台", "roles": "emsp,cpo",
            "base_url": "", "operator_secret": DEMO_PARTNER_SECRET,
            "our_operator_secret": DEMO_PARTNER_SECRET, "data_secret": DEMO_PARTNER_SECRET,
            "data_iv": DEMO_PARTNER_IV, "sig_secret": DEMO_PARTNER_SECRET,
            "share_stations": "all",
        }
    )  # fmt: skip


@transactional
def demo_partner_sandbox(platform_base: str, sandbox_base: str) -> PartnerSandbox | None:
    """The demo partner played by the partner sandbox (make run): its base URL pointed at
    the sandbox (unless the operator gave it a real one), and the sandbox made with its
    secrets and keys (the demo's keys are the same both ways)."""
    partner = partners.by_operator_id(DEMO_PARTNER_ID)
    if partner is None:
        return None
    if partner.base_url and not partner.base_url.endswith(SANDBOX_PREFIX):
        return None  # the demo partner now points at a real platform: no sandbox
    partner.base_url = sandbox_base  # this run's port
    return PartnerSandbox(
        operator_id=DEMO_PARTNER_ID, keys=partners.outbound_keys(partner),
        platform_secret=partner.our_operator_secret, own_secret=partner.operator_secret,
        platform_base=platform_base,
    )  # fmt: skip


def demo_logins_present() -> list[str]:
    """The demo admin accounts that still open with their published password (the README
    prints them: in production they are a public door)."""
    found: list[str] = []
    for username, password, _ in DEMO_LOGINS:
        user = db.session.scalar(select(AdminUser).where(AdminUser.username == username))
        if (
            user is not None
            and user.is_active
            and check_password_hash(user.password_hash, password)
        ):
            found.append(username)
    return found


def demo_driver() -> Driver | None:
    card = db.session.scalar(select(DriverCard).where(DriverCard.id_tag == "DEMO-CARD-01"))
    return db.session.get(Driver, card.driver_id) if card else None


# the demo sub-operators' WeChat accounts in the sandbox (make run): mini-program app,
# official account and merchant; their secrets and keys are made once and kept
DEMO_WECHAT = {
    "广东云创": ("wxdemo0yc0000mp01", "wxdemo0yc0000oa01", "1900000001"),
    "深圳快充": ("wxdemo0kc0000mp01", "wxdemo0kc0000oa01", "1900000002"),
}


@transactional
def demo_wechat_accounts(fake: FakeWeChat) -> list[int]:
    """Give each demo sub-operator the sandbox's accounts (where it has none of its own)
    and tell the sandbox about them and about the demo drivers. Returns the operators
    whose merchant is the sandbox's (their platform key is downloaded once it serves)."""
    with_merchant: list[int] = []
    for name, (mp_id, oa_id, mch_id) in DEMO_WECHAT.items():
        op = db.session.scalar(select(Operator).where(Operator.name == name))
        if op is None:
            continue
        if not op.wechat_app_id:
            op.wechat_app_id, op.wechat_app_secret = mp_id, secrets.token_hex(16)
        if op.wechat_app_id == mp_id:
            fake.register_app(op.wechat_app_id, op.wechat_app_secret)
        if not op.wechat_oa_app_id:
            op.wechat_oa_app_id, op.wechat_oa_app_secret = oa_id, secrets.token_hex(16)
        if op.wechat_oa_app_id == oa_id:
            fake.register_app(op.wechat_oa_app_id, op.wechat_oa_app_secret)
        if not op.wechat_mch_id:
            made = make_test_merchant(mch_id, op.wechat_app_id)
            op.wechat_mch_id, op.wechat_mch_cert_serial = made.mch_id, made.cert_serial
            op.wechat_mch_private_key, op.wechat_apiv3_key = made.private_key_pem, made.apiv3_key
        if op.wechat_mch_id == mch_id:
            fake.register_merchant(
                DemoMerchant(
                    mch_id=mch_id, app_id=op.wechat_app_id, cert_serial=op.wechat_mch_cert_serial,
                    private_key_pem=op.wechat_mch_private_key,
                    public_key_pem=pem_public(load_private_key(op.wechat_mch_private_key).public_key()),
                    apiv3_key=op.wechat_apiv3_key,
                )
            )  # fmt: skip
            fake.bind_app(mch_id, op.wechat_oa_app_id)
            with_merchant.append(op.id)
        for driver in db.session.scalars(select(Driver).where(Driver.operator_id == op.id)):
            key = driver.openid or (driver.oa_openid or "").partition("-")[2]
            if key:
                fake.add_user(key, driver.nickname or driver.phone or key)
    return with_merchant
