"""The live poll hands its connection back to the pool once its rows are read, not at the
end of the request: under load a worker's greenlets held connections through the estimate,
the serialization and the write of the answer, and outgrew the pool."""

from __future__ import annotations

from pathlib import Path

from app.drivers import live
from app.extensions import db
from app.tenancy.models import Operator
from tests.support.settings import BASE_CONFIG
from wsgi import compose


def test_the_poll_s_autocommit_connection_goes_back_once_read(tmp_path: Path) -> None:
    app = compose({**BASE_CONFIG, "DATABASE_URL": f"sqlite:///{tmp_path / 'poll.db'}"})
    with app.app_context():
        db.create_all()
        mine = live._autocommit_reads()  # a request that has read nothing yet
        assert mine and db.session().in_transaction()
        live._release(mine)
        assert not db.session().in_transaction()  # back in the pool
        db.session.add(Operator(name="x"))
        mine = live._autocommit_reads()
        assert not mine  # a caller's transaction: left alone
        live._release(mine)
        assert db.session().in_transaction()
        db.session.commit()
        operator = db.session.get(Operator, 1)  # a caller's object in the session
        db.session.commit()
        mine = live._autocommit_reads()
        assert mine
        live._release(mine)
        assert db.session().in_transaction() and operator in db.session  # never detached
        db.session.remove()
        db.engine.dispose()
