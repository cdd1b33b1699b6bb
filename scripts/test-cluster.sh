#!/usr/bin/env bash
# The cluster test (tests/cluster): PostgreSQL, S3 (a moto_server process) and Redis, two
# gunicorn web servers on different ports sharing one configuration, two RQ workers.
# A fresh PostgreSQL database and Redis database come from with-services.sh; the first
# argument is 1 in CI, where their absence is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
require=${1:-0}
BIN=${BIN:-.venv/bin}
export INCIDENTS_CLUSTER_TEST=1
# Redis database 13 unless REDIS_DB is set: apart from the suite's (15 and below).
export REDIS_DB=${REDIS_DB:-13}
exec bash scripts/with-services.sh "$require" "$BIN/pytest" -q -p no:cacheprovider -n 0 \
  -s tests/cluster
