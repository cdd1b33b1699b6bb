"""gunicorn settings for `make run` and production (gunicorn reads ./gunicorn.conf.py).

Threaded workers with read deadlines and private logs: see incidents/serving.py and
docs/deployment.md ("Serving"). Command-line options (`--bind`, `--workers`) override these.
"""

import os

from incidents import serving

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
# Request threads per worker: a dripping client holds one for seconds at most, and the
# main loop waits on idle connections without one (incidents.serving).
threads = int(os.environ.get("GUNICORN_THREADS", "64"))
worker_class = "incidents.serving.DeadlineThreadWorker"
worker_connections = 1000
keepalive = 5
# The worker's heartbeat: long requests (a 2 GiB upload) live in threads, not here.
timeout = 300
# gunicorn's own caps on the request line and headers (a header drip is cut at 10 s).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# No access log (it names the client); the error log goes through PrivateLogger.
accesslog = None
errorlog = "-"
logger_class = "incidents.serving.PrivateLogger"
logconfig_dict = serving.logconfig(os.environ.get("GUNICORN_LOG_LEVEL", "INFO"))
# Request bodies are never spooled to disk by gunicorn (it has no such buffer); the app
# streams evidence into the encrypting blob writer (incidents.web.http.multipart).
