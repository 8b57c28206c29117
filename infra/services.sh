#!/usr/bin/env bash
# Make sure Redis (>= 6.2) and PostgreSQL (>= 14) answer at REDIS_URL and DATABASE_URL,
# and that the database named in DATABASE_URL exists.
#
# For each service separately:
#   1. if it already answers, use it (never reconfigure, flush or stop it);
#   2. else, if a Docker engine answers and docker-compose.yml exists, `docker compose up -d <svc>`;
#   3. else start a private server from local binaries, with its data under <repo>/.data/;
#   4. else print what to install and exit 1.
#
# Idempotent: a second run finds the servers the first one started.
# Exit codes: 0 ok, 1 a service is missing/unreachable/too old.
#
# Stop the private servers (only those started by this script):
#   redis-cli -p PORT shutdown nosave
#   pg_ctl -D .data/pg stop        (as root: runuser -u postgres -- /usr/lib/postgresql/VER/bin/pg_ctl -D .data/pg stop)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA_DIR="${KTS_DATA_DIR:-$ROOT/.data}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kts}"
WAIT_SECONDS="${KTS_SERVICES_WAIT:-60}"
COMPOSE_FILE="$ROOT/docker-compose.yml"

MIN_REDIS="6.2.0"
MIN_PG_NUM=140000

die() {
  echo "services: ERROR: $*" >&2
  exit 1
}
warn() { echo "services: WARNING: $*" >&2; }

# version_ge A B -> true when dotted version A >= B
version_ge() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# Percent-decode a URL component.
url_decode() {
  local s="${1//\\/\\\\}"
  printf '%b' "${s//%/\\x}"
}

is_loopback() {
  case "$1" in
    127.* | localhost | ::1) return 0 ;;
    *) return 1 ;;
  esac
}

# Address a private server should listen on so that the URL's host reaches it.
listen_addr() {
  case "$1" in
    localhost) echo 127.0.0.1 ;; # clients try every address localhost resolves to
    *) echo "$1" ;;
  esac
}

# ---------------------------------------------------------------- URL parsing
# redis://[user[:pw]@]host[:port][/db][?query]
parse_redis_url() {
  local rest="$1" hostport
  R_TLS=no
  case "$rest" in
    rediss://*) R_TLS=yes ;;
  esac
  case "$rest" in
    redis://* | rediss://*) rest="${rest#*://}" ;;
    *) die "REDIS_URL must start with redis:// or rediss:// (got '$1')" ;;
  esac
  rest="${rest%%\?*}"
  rest="${rest%%#*}"
  R_DB=""
  if [[ "$rest" == */* ]]; then
    R_DB="${rest#*/}"
    rest="${rest%%/*}"
  fi
  [[ "$R_DB" =~ ^[0-9]*$ ]] || die "bad database number '$R_DB' in REDIS_URL"
  R_USER=""
  R_PASS=""
  if [[ "$rest" == *@* ]]; then
    local userinfo="${rest%@*}"
    rest="${rest##*@}"
    if [[ "$userinfo" == *:* ]]; then
      R_USER="${userinfo%%:*}"
      R_PASS="${userinfo#*:}"
    else
      R_USER="$userinfo"
    fi
  fi
  R_USER="$(url_decode "$R_USER")"
  R_PASS="$(url_decode "$R_PASS")"
  hostport="$rest"
  split_hostport "$hostport" 6379
  R_HOST="$HP_HOST"
  R_PORT="$HP_PORT"
}

# postgres://user[:pw]@host[:port]/db[?query]   (also postgresql://)
parse_pg_url() {
  local rest="$1"
  case "$rest" in
    postgres://* | postgresql://*) rest="${rest#*://}" ;;
    *) die "DATABASE_URL must start with postgres:// or postgresql:// (got '$1')" ;;
  esac
  P_QUERY=""
  if [[ "$rest" == *\?* ]]; then
    P_QUERY="${rest#*\?}"
    rest="${rest%%\?*}"
  fi
  rest="${rest%%#*}"
  P_DB=""
  if [[ "$rest" == */* ]]; then
    P_DB="${rest#*/}"
    rest="${rest%%/*}"
  fi
  P_USERINFO=""
  P_USER=""
  P_PASS=""
  if [[ "$rest" == *@* ]]; then
    P_USERINFO="${rest%@*}"
    rest="${rest##*@}"
    if [[ "$P_USERINFO" == *:* ]]; then
      P_USER="${P_USERINFO%%:*}"
      P_PASS="${P_USERINFO#*:}"
    else
      P_USER="$P_USERINFO"
    fi
  fi
  split_hostport "$rest" 5432
  P_HOST="$HP_HOST"
  P_PORT="$HP_PORT"
  [ -n "$P_USER" ] || P_USER="${PGUSER:-postgres}"
  [ -n "$P_DB" ] || P_DB="$P_USER"
  P_USER="$(url_decode "$P_USER")"
  P_DB="$(url_decode "$P_DB")"
}

# split_hostport "host:port" DEFAULT_PORT -> HP_HOST HP_PORT ; handles [v6]:port
split_hostport() {
  local hp="$1" def="$2"
  if [[ "$hp" == \[*\]* ]]; then
    HP_HOST="${hp%%]*}"
    HP_HOST="${HP_HOST#[}"
    local after="${hp#*]}"
    HP_PORT="${after#:}"
  elif [[ "$hp" == *:* ]]; then
    HP_HOST="${hp%:*}"
    HP_PORT="${hp##*:}"
  else
    HP_HOST="$hp"
    HP_PORT=""
  fi
  [ -n "$HP_HOST" ] || HP_HOST="127.0.0.1"
  [ -n "$HP_PORT" ] || HP_PORT="$def"
  [[ "$HP_PORT" =~ ^[0-9]+$ ]] || die "bad port '$HP_PORT' in '$hp'"
}

# True when docker-compose.yml defines the given top-level service.
compose_has_service() {
  [ -f "$COMPOSE_FILE" ] && grep -Eq "^  $1:" "$COMPOSE_FILE"
}

docker_usable() {
  command -v docker >/dev/null 2>&1 || return 1
  timeout 10 docker info >/dev/null 2>&1 || return 1
  timeout 10 docker compose version >/dev/null 2>&1 || return 1
}

# ====================================================================== Redis
# Connects with the parsed URL parts (redis-cli's own -u parser rejects [v6] hosts).
redis_cli() {
  local a=(-h "$R_HOST" -p "$R_PORT")
  [ -z "$R_DB" ] || a+=(-n "$R_DB")
  [ -z "$R_USER" ] || [ -z "$R_PASS" ] || a+=(--user "$R_USER")
  [ "$R_TLS" = no ] || a+=(--tls)
  if [ -n "$R_PASS" ]; then
    REDISCLI_AUTH="$R_PASS" timeout 5 redis-cli "${a[@]}" "$@"
  else
    timeout 5 redis-cli "${a[@]}" "$@"
  fi
}

# prints the PING reply (empty when nothing answers)
redis_ping() { redis_cli ping 2>/dev/null | tr -d '\r' || true; }

redis_wait() {
  local i
  for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
    [ "$(redis_ping)" = "PONG" ] && return 0
    sleep 0.5
  done
  return 1
}

redis_start_local() {
  local bin dir
  bin="$(command -v redis-server || true)"
  [ -n "$bin" ] || return 1
  dir="$DATA_DIR/redis"
  mkdir -p "$dir"
  local args=(--daemonize yes --port "$R_PORT" --bind "$(listen_addr "$R_HOST")"
    --appendonly yes --maxmemory-policy noeviction
    --dir "$dir" --logfile "$dir/redis.log" --pidfile "$dir/redis-$R_PORT.pid")
  if [ -n "$R_PASS" ]; then
    args+=(--requirepass "$R_PASS")
    if [ -n "$R_USER" ] && [ "$R_USER" != "default" ]; then
      warn "REDIS_URL names user '$R_USER'; the private server only sets a password for the default user"
    fi
  fi
  "$bin" "${args[@]}" >/dev/null ||
    die "redis-server failed to start on port $R_PORT; see $dir/redis.log"
  if ! redis_wait; then
    tail -n 20 "$dir/redis.log" >&2 || true
    die "private redis-server on $R_HOST:$R_PORT did not answer within ${WAIT_SECONDS}s (log: $dir/redis.log)"
  fi
  return 0
}

ensure_redis() {
  command -v redis-cli >/dev/null 2>&1 ||
    die "redis-cli not found. Install Redis: apt-get install -y redis-server (or redis-tools for the client only)"
  parse_redis_url "$REDIS_URL"
  local how reply
  reply="$(redis_ping)"
  if [ "$reply" = "PONG" ]; then
    how="using running server"
  elif [ -n "$reply" ]; then
    die "Redis at $R_HOST:$R_PORT answers PING with '$reply' (check credentials in REDIS_URL)"
  elif ! is_loopback "$R_HOST"; then
    die "Redis at $R_HOST:$R_PORT does not answer, and it is not a local address this script could start a server on"
  elif docker_usable && compose_has_service redis && [ "$R_PORT" = 6379 ]; then
    (cd "$ROOT" && docker compose up -d redis) >&2
    redis_wait || die "redis from docker compose did not answer at $R_HOST:$R_PORT within ${WAIT_SECONDS}s"
    how="started with docker compose"
  elif redis_start_local; then
    how="started private redis-server (data in ${DATA_DIR#"$ROOT"/}/redis)"
  else
    die "No Redis answers at $R_HOST:$R_PORT and none can be started here. Install one of: redis-server (apt-get install -y redis-server), or Docker with a running engine (then docker compose up -d redis)."
  fi

  local info version policy
  info="$(redis_cli info 2>/dev/null | tr -d '\r')" || die "redis INFO failed at $R_HOST:$R_PORT"
  version="$(sed -n 's/^redis_version://p' <<<"$info")"
  policy="$(sed -n 's/^maxmemory_policy://p' <<<"$info")"
  [ -n "$version" ] || die "could not read redis_version from Redis at $R_HOST:$R_PORT"
  version_ge "$version" "$MIN_REDIS" ||
    die "Redis at $R_HOST:$R_PORT is version $version; BullMQ needs Redis >= $MIN_REDIS"
  if [ "$policy" != "noeviction" ]; then
    warn "Redis at $R_HOST:$R_PORT has maxmemory-policy '${policy:-unknown}'; BullMQ needs 'noeviction' (queue keys may be evicted). Not changing it here."
  fi
  echo "redis: $how at $R_HOST:$R_PORT (Redis $version, maxmemory-policy ${policy:-unknown})"
}

# ================================================================== Postgres
pg_maint_url() {
  local url="postgres://"
  [ -n "$P_USERINFO" ] && url+="$P_USERINFO@"
  if [[ "$P_HOST" == *:* ]]; then url+="[$P_HOST]"; else url+="$P_HOST"; fi
  url+=":$P_PORT/postgres"
  [ -n "$P_QUERY" ] && url+="?$P_QUERY"
  printf '%s' "$url"
}

pg_ready() { pg_isready -q -t 3 -d "$MAINT_URL" >/dev/null 2>&1; }

pg_wait() {
  local i
  for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
    pg_ready && return 0
    sleep 0.5
  done
  return 1
}

psql_maint() { PGCONNECT_TIMEOUT=5 psql -X -q -v ON_ERROR_STOP=1 -At -d "$MAINT_URL" "$@"; }

# Highest Debian server version in /usr/lib/postgresql/*/bin, else initdb on PATH.
find_pg_bindir() {
  local d best="" bestv=""
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] || continue
    local v
    v="$(basename "$(dirname "$d")")"
    if [ -z "$bestv" ] || version_ge "$v" "$bestv"; then
      best="$d"
      bestv="$v"
    fi
  done
  if [ -z "$best" ] && command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    best="$(dirname "$(command -v initdb)")"
  fi
  printf '%s' "$best"
}

pg_start_local() {
  local bindir pgdata as=() logf ver
  bindir="$(find_pg_bindir)"
  [ -n "$bindir" ] || return 1
  pgdata="${KTS_PGDATA:-$DATA_DIR/pg}"
  mkdir -p "$DATA_DIR"

  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 ||
      die "running as root but there is no 'postgres' user for initdb (install postgresql, or run as a normal user)"
    as=(runuser -u postgres --)
  fi

  # An existing cluster must be run by the binaries of its own major version.
  if [ -f "$pgdata/PG_VERSION" ]; then
    ver="$(cat "$pgdata/PG_VERSION")"
    if [ -x "/usr/lib/postgresql/$ver/bin/pg_ctl" ]; then
      bindir="/usr/lib/postgresql/$ver/bin"
    fi
  fi
  ver="$("$bindir/initdb" --version | grep -Eo '[0-9]+(\.[0-9]+)?' | head -n1)"
  version_ge "$ver" 14 || die "local PostgreSQL server binaries in $bindir are version $ver; need >= 14"

  mkdir -p "$pgdata"
  chmod 700 "$pgdata"
  if [ "${#as[@]}" -gt 0 ]; then
    chown -R postgres:postgres "$pgdata"
    "${as[@]}" test -w "$pgdata" ||
      die "user postgres cannot reach $pgdata (a parent directory is not traversable); set KTS_PGDATA to a directory it can use"
  fi

  if [ ! -f "$pgdata/PG_VERSION" ]; then
    "${as[@]}" "$bindir/initdb" -D "$pgdata" -A trust -U "$P_USER" -E UTF8 --locale=C.UTF-8 >"$DATA_DIR/initdb.log" 2>&1 ||
      "${as[@]}" "$bindir/initdb" -D "$pgdata" -A trust -U "$P_USER" -E UTF8 --locale=C >"$DATA_DIR/initdb.log" 2>&1 ||
      {
        tail -n 20 "$DATA_DIR/initdb.log" >&2
        die "initdb failed for $pgdata (log: $DATA_DIR/initdb.log)"
      }
  fi
  logf="$pgdata/server.log"
  "${as[@]}" "$bindir/pg_ctl" -D "$pgdata" -l "$logf" -w -t "$WAIT_SECONDS" \
    -o "-p $P_PORT -k /tmp -c listen_addresses=$(listen_addr "$P_HOST")" start >/dev/null ||
    {
      tail -n 20 "$logf" >&2 || true
      die "pg_ctl start failed for $pgdata on port $P_PORT (log: $logf)"
    }
  pg_wait || die "private PostgreSQL on $P_HOST:$P_PORT did not become ready within ${WAIT_SECONDS}s (log: $logf)"
  PG_STARTED_DIR="$pgdata"
  return 0
}

ensure_postgres() {
  command -v psql >/dev/null 2>&1 && command -v pg_isready >/dev/null 2>&1 ||
    die "psql/pg_isready not found. Install PostgreSQL client tools: apt-get install -y postgresql-client (and postgresql for a local server)"
  parse_pg_url "$DATABASE_URL"
  MAINT_URL="$(pg_maint_url)"
  local how
  PG_STARTED_DIR=""
  if pg_ready; then
    how="using running server"
  elif ! is_loopback "$P_HOST"; then
    die "PostgreSQL at $P_HOST:$P_PORT does not answer, and it is not a local address this script could start a server on"
  elif docker_usable && compose_has_service postgres && [ "$P_PORT" = 5432 ]; then
    (cd "$ROOT" && docker compose up -d postgres) >&2
    pg_wait || die "postgres from docker compose did not answer at $P_HOST:$P_PORT within ${WAIT_SECONDS}s"
    [ -n "$P_PASS" ] || [ -n "${PGPASSWORD:-}" ] ||
      warn "the compose postgres needs a password: use DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/kts"
    how="started with docker compose"
  elif pg_start_local; then
    how="started private cluster (data in ${PG_STARTED_DIR#"$ROOT"/})"
  else
    die "No PostgreSQL answers at $P_HOST:$P_PORT and none can be started here. Install one of: postgresql (apt-get install -y postgresql postgresql-client), or Docker with a running engine (then docker compose up -d postgres)."
  fi

  local vnum vstr
  vnum="$(psql_maint -c 'SHOW server_version_num' 2>&1)" ||
    die "PostgreSQL at $P_HOST:$P_PORT answers but psql cannot connect to its 'postgres' database: $vnum"
  vstr="$(psql_maint -c 'SHOW server_version')"
  vstr="${vstr%% *}"
  [[ "$vnum" =~ ^[0-9]+$ ]] || die "unexpected server_version_num '$vnum' from PostgreSQL at $P_HOST:$P_PORT"
  [ "$vnum" -ge "$MIN_PG_NUM" ] ||
    die "PostgreSQL at $P_HOST:$P_PORT is version $vstr; need >= 14"

  local lit ident exists dbmsg
  lit="${P_DB//\'/\'\'}"
  ident="${P_DB//\"/\"\"}"
  exists="$(psql_maint -c "SELECT 1 FROM pg_database WHERE datname = '$lit'")"
  if [ "$exists" = 1 ]; then
    dbmsg="database '$P_DB' exists"
  else
    # tolerate a concurrent creator
    psql_maint -c "CREATE DATABASE \"$ident\"" 2>/dev/null ||
      [ "$(psql_maint -c "SELECT 1 FROM pg_database WHERE datname = '$lit'")" = 1 ] ||
      die "could not create database '$P_DB' on $P_HOST:$P_PORT"
    dbmsg="created database '$P_DB'"
  fi
  echo "postgres: $how at $P_HOST:$P_PORT (PostgreSQL $vstr); $dbmsg"
}

# Run only when executed, so the functions can be sourced (e.g. to test URL parsing).
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  ensure_redis
  ensure_postgres
fi
