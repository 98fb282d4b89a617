"""SQLAlchemy models, one module per domain area; importing this registers them all."""

from app.models.audit import AuditLog
from app.models.auth import AdminUser, Role, admin_user_roles
from app.models.members import Driver, DriverCard, Wallet, WalletEntry
from app.models.stations import Connector, Pile, PileHardware, Station, StationVisibility
from app.models.tariffs import Tariff, TariffSegment, TariffVersion
from app.models.tenancy import Operator

__all__ = [
    "AdminUser",
    "AuditLog",
    "Connector",
    "Driver",
    "DriverCard",
    "Operator",
    "Pile",
    "PileHardware",
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
