"""Scheduled jobs: declared as data in :mod:`app.jobs.scheduler`, thin wrappers over
services in :mod:`app.jobs.money`, run by ``make run`` and ``flask scheduler``."""
