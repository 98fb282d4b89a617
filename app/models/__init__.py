"""SQLAlchemy models, one module per domain area; importing this registers them all."""

from app.models.audit import AuditLog
from app.models.auth import AdminUser, Role, admin_user_roles
from app.models.charging import ChargeOrder, MeterSampleRecord, PileMessage
from app.models.members import Driver, DriverCard, Wallet, WalletEntry
from app.models.pile_history import FaultRecord, PileOnlinePeriod
from app.models.stations import Connector, Pile, PileHardware, Station, StationVisibility
from app.models.tariffs import Tariff, TariffSegment, TariffVersion
from app.models.tenancy import Operator

__all__ = [
    "AdminUser",
    "AuditLog",
    "ChargeOrder",
    "Connector",
    "Driver",
    "DriverCard",
    "FaultRecord",
    "MeterSampleRecord",
    "Operator",
    "Pile",
    "PileHardware",
    "PileMessage",
    "PileOnlinePeriod",
    "Role",
    "Station",
    "StationVisibility",
    "Tariff",
    "TariffSegment",
    "TariffVersion",
    "Wallet",
    "WalletEntry",
    "admin_user_roles",
]
