"""gunicorn settings for production HTTP workers (``gunicorn -c gunicorn.conf.py wsgi:app``).

Idle and slow clients are closed (issue 15 #12): kept-alive connections after
``keepalive`` seconds, a worker's request after ``timeout``; request lines and headers are
bounded. gunicorn has no header deadline against a slowloris: production puts nginx (or
the cloud load balancer) in front, with ``client_header_timeout 10s`` and
``client_body_timeout 30s``; the embedded server of ``make run`` enforces both itself.
"""

import os

bind = os.environ.get("EVOP_HTTP_BIND", "0.0.0.0:5000")
worker_class = "gevent"
workers = int(os.environ.get("EVOP_HTTP_WORKERS", "4"))
worker_connections = 1000
keepalive = 5
timeout = 30
graceful_timeout = 10
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
