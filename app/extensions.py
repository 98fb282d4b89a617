"""Extensions, created unbound and bound in the factory."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from app.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
# rate limits: a moving window per key, counted atomically by the storage (in memory, or
# Redis when REDIS_URL is set: see RATELIMIT_STORAGE_URI in app/config.py); no default
# limits, the drivers' API counts its own hits (app/rate_limits.py)
limiter = Limiter(key_func=get_remote_address, strategy="moving-window")
