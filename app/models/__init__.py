"""SQLAlchemy models, one module per domain area; importing this registers them all."""

from app.models.audit import AuditLog
from app.models.auth import AdminUser, Role, admin_user_roles
from app.models.billing import (
    Bill,
    BillAdjustment,
    BillLine,
    OccupancyPolicy,
    OccupancySession,
    OrderTerms,
    PricingGroup,
    ServiceDiscount,
)
from app.models.charging import ChargeOrder, MeterSampleRecord, PileMessage
from app.models.coupons import Coupon, CouponTemplate, TopUpGrant, TopUpOffer, TopUpOfferItem
from app.models.members import Driver, DriverCard, Wallet, WalletEntry
from app.models.notifications import OutboxMessage
from app.models.payments import (
    NotificationAttempt,
    RefundPart,
    RefundRequest,
    TopUpPayment,
    WeChatPayKey,
)
from app.models.pile_history import FaultRecord, PileOnlinePeriod
from app.models.scheduler import JobLease
from app.models.stations import Connector, Pile, PileHardware, Station, StationVisibility
from app.models.support import (
    CertificationApplication,
    CertificationFile,
    CustomerServicePhone,
)
from app.models.tariffs import Tariff, TariffSegment, TariffVersion
from app.models.tenancy import Operator

__all__ = [
    "AdminUser",
    "AuditLog",
    "Bill",
    "BillAdjustment",
    "BillLine",
    "CertificationApplication",
    "CertificationFile",
    "ChargeOrder",
    "Connector",
    "Coupon",
    "CouponTemplate",
    "CustomerServicePhone",
    "Driver",
    "DriverCard",
    "FaultRecord",
    "JobLease",
    "MeterSampleRecord",
    "NotificationAttempt",
    "OccupancyPolicy",
    "OccupancySession",
    "Operator",
    "OrderTerms",
    "OutboxMessage",
    "Pile",
    "PileHardware",
    "PileMessage",
    "PileOnlinePeriod",
    "PricingGroup",
    "RefundPart",
    "RefundRequest",
    "Role",
    "ServiceDiscount",
    "Station",
    "StationVisibility",
    "Tariff",
    "TariffSegment",
    "TariffVersion",
    "TopUpGrant",
    "TopUpOffer",
    "TopUpOfferItem",
    "TopUpPayment",
    "Wallet",
    "WalletEntry",
    "WeChatPayKey",
    "admin_user_roles",
]
