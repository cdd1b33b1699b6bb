#!/usr/bin/env bash
# Run a command (the test suite) against a fresh, uniquely named PostgreSQL database and
# Redis, then drop the database. Skips with a notice when they are not reachable, unless
# the first argument is 1 (CI), where their absence is a failure.
set -euo pipefail
require=$1; shift
pg_host=${PG_HOST:-127.0.0.1}; pg_user=${PG_USER:-postgres}; redis_host=${REDIS_HOST:-127.0.0.1}

if ! pg_isready -q -h "$pg_host" -U "$pg_user" 2>/dev/null; then
  if [ "$require" = 1 ]; then echo "PostgreSQL at $pg_host is not reachable" >&2; exit 1; fi
  echo "NOTICE: PostgreSQL not reachable: the PostgreSQL/Redis run is skipped." >&2; exit 0
fi
if ! redis-cli -h "$redis_host" ping >/dev/null 2>&1; then
  if [ "$require" = 1 ]; then echo "Redis at $redis_host is not reachable" >&2; exit 1; fi
  echo "NOTICE: Redis not reachable: the PostgreSQL/Redis run is skipped." >&2; exit 0
fi

db="incidents_test_$(date +%s)_$$"
psql -q -h "$pg_host" -U "$pg_user" -d postgres -c "CREATE DATABASE $db" >/dev/null
cleanup() { psql -q -h "$pg_host" -U "$pg_user" -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null; }
trap cleanup EXIT
# Redis database $REDIS_DB (15 unless set; each xdist worker counts down from it) is ours
# for the run; it is flushed before and after.
redis_db=${REDIS_DB:-15}
redis-cli -h "$redis_host" -n "$redis_db" flushdb >/dev/null
echo "== PostgreSQL ($db) and Redis run =="
TEST_DATABASE_URL="postgresql+psycopg://$pg_user@$pg_host/$db" \
TEST_REDIS_URL="redis://$redis_host:6379/$redis_db" \
  "$@"
redis-cli -h "$redis_host" -n "$redis_db" flushdb >/dev/null
