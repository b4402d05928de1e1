#!/usr/bin/env bash
# Start a throw-away PostgreSQL cluster on loopback for the test suite (CI and local).
# Installs Debian's `postgresql` package when its binaries are missing, creates a cluster
# under $PGDATA_DIR (default /tmp/genepair-pg), a login role and database, and writes the
# PG* variables to the file given as $1 (default .ci/postgres.env) for `source`.
#   bash scripts/start_postgres.sh [ENV_FILE]      stop: bash scripts/start_postgres.sh --stop
set -euo pipefail
DATA=${PGDATA_DIR:-/tmp/genepair-pg}
PORT=${GENEPAIR_PG_PORT:-54329}
ENV_FILE=${1:-.ci/postgres.env}

find_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
    done
    return 1
}

as_owner() {  # initdb and postgres refuse to run as root
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = "--stop" ]; then
    BIN=$(find_bin) && as_owner "$BIN/pg_ctl" -D "$DATA" stop -m fast || true
    exit 0
fi

if ! BIN=$(find_bin); then
    echo "installing PostgreSQL (Debian package postgresql)" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
    BIN=$(find_bin)
fi

if [ -f "$DATA/postmaster.pid" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    echo "PostgreSQL already running in $DATA" >&2
else
    rm -rf "$DATA"
    mkdir -p "$DATA"
    [ "$(id -u)" = 0 ] && chown postgres: "$DATA"
    as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
    # loopback only; a CI-only cluster, so durability is traded for speed
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w start \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off -c synchronous_commit=off \
            -c full_page_writes=off -c max_connections=50 -c shared_buffers=256MB -c max_wal_size=4GB \
            -c maintenance_work_mem=256MB -c work_mem=64MB" >/dev/null
fi

PASSWORD=genepair_ci
psql_admin() { psql -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q "$@"; }
psql_admin -c "DO \$\$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'genepair') THEN
        CREATE ROLE genepair LOGIN CREATEDB CREATEROLE PASSWORD '$PASSWORD';
    END IF;
END \$\$;"
psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = 'genepair'" | grep -q 1 \
    || psql_admin -c "CREATE DATABASE genepair OWNER genepair"

mkdir -p "$(dirname "$ENV_FILE")"
cat > "$ENV_FILE" <<ENV
export PGHOST=127.0.0.1
export PGPORT=$PORT
export PGUSER=genepair
export PGPASSWORD=$PASSWORD
export PGDATABASE=genepair
ENV
echo "PostgreSQL ready on 127.0.0.1:$PORT (variables in $ENV_FILE)" >&2
