#!/usr/bin/env bash
# Run a command with a PostgreSQL server for the tests (ANCHORWATCH_TEST_PG set).
#
# If ANCHORWATCH_TEST_PG is already set, the command runs against that server.
# Otherwise a throwaway cluster is created in a temporary folder, started on a
# free loopback port, and removed when the command ends.  Under CI=true a
# missing PostgreSQL is an error, never a silent skip.
set -euo pipefail

if [ -n "${ANCHORWATCH_TEST_PG:-}" ]; then
  exec "$@"
fi

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$PGBIN" ] && command -v pg_ctl >/dev/null 2>&1; then
  PGBIN=$(dirname "$(command -v pg_ctl)")
fi
if [ -z "$PGBIN" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "with-postgres: PostgreSQL is not installed (apt-get install postgresql); CI needs it." >&2
    exit 1
  fi
  echo "with-postgres: PostgreSQL not found; its tests will be skipped (install postgresql)." >&2
  exec "$@"
fi

DATA=$(mktemp -d /tmp/anchorwatch-pg.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
AS=()
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root: run the throwaway cluster as the postgres user.
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$DATA" postgres
  chown postgres "$DATA"
  AS=(runuser -u postgres --)
fi
stop() {
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$DATA/db" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap stop EXIT
"${AS[@]}" "$PGBIN/initdb" -D "$DATA/db" -U postgres -A trust -E UTF8 --no-sync >/dev/null
"${AS[@]}" "$PGBIN/pg_ctl" -D "$DATA/db" -l "$DATA/server.log" -w \
  -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
  start >/dev/null
export ANCHORWATCH_TEST_PG="postgresql://postgres@127.0.0.1:$PORT/postgres"
echo "with-postgres: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2
set +e
"$@"
status=$?
exit $status
