"""Entry point: ``gunicorn -k gevent wsgi:app`` in production, ``python wsgi.py`` for the
embedded single process that ``make run`` starts. Patching happens here, nowhere else."""

from gevent import monkey

monkey.patch_all()

from app import create_app  # noqa: E402
from app.server import serve  # noqa: E402

app = create_app()

if __name__ == "__main__":
    serve(app)
