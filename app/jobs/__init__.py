"""Scheduled jobs: declared as data in :mod:`app.jobs.scheduler` (each calls one service), run
by ``make run`` and ``flask scheduler``."""
