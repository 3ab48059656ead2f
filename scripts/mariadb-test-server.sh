#!/usr/bin/env bash
# A throwaway MariaDB server for the tests, on loopback, with its data in a folder of its own.
#
#   scripts/mariadb-test-server.sh start DIR [--no-tls]
#                                              creates DIR (a fresh server on a free port) or restarts the server
#                                              kept in DIR; prints the URL of its test database:
#                                              mysql://wharf:PASSWORD@127.0.0.1:PORT/wharf_test
#                                              TLS is on (certificate for 127.0.0.1 signed by DIR/tls/ca.pem)
#                                              unless the server was created with --no-tls.
#   scripts/mariadb-test-server.sh stop DIR    stops it (the data stays, for a later start)
#   scripts/mariadb-test-server.sh kill DIR    kills it with SIGKILL, as a crash would (the data stays)
#   scripts/mariadb-test-server.sh remove DIR  stops it and deletes DIR
#
# The user `wharf` logs in with a password (the real authentication path) and may create databases, so each
# test can work in a database of its own. Needs mariadb-server (scripts/install-deps.sh test installs it).
set -euo pipefail

ACTION="${1:-}"
DIR="${2:-}"
TLS=on
[ "${3:-}" = --no-tls ] && TLS=off
[ -n "$ACTION" ] && [ -n "$DIR" ] || { echo "usage: $0 start|stop|kill|remove DIR" >&2; exit 2; }

die() { echo "mariadb-test-server: $*" >&2; exit 1; }

pid_of() { [ -f "$DIR/mariadbd.pid" ] && cat "$DIR/mariadbd.pid" 2>/dev/null || true; }

stop() {
  local pid signal="${1:-TERM}"
  pid="$(pid_of)"
  [ -n "$pid" ] || return 0
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$DIR/mariadbd.pid"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$DIR/mariadbd.pid"
}

close_inherited_fds() {
  local fd
  for fd in $(ls /proc/$$/fd 2>/dev/null); do
    if [ "$fd" -gt 2 ] && [ "$fd" != 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

# A throwaway CA and a server certificate for 127.0.0.1, valid two days.
make_certificates() {
  local tls="$DIR/tls"
  mkdir -p "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=wharf-test-ca" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" >/dev/null 2>&1
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$tls/server.key" -out "$tls/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$tls/ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
    -extfile "$tls/ext" -out "$tls/server.pem" >/dev/null 2>&1 || die "cannot make the test certificates (openssl)"
}

start() {
  command -v mariadbd >/dev/null 2>&1 || PATH="$PATH:/usr/sbin"
  command -v mariadbd >/dev/null 2>&1 || die "mariadbd not found: install mariadb-server (scripts/install-deps.sh test)"
  local fresh=0 port password user
  user="$(id -un)"
  if [ ! -d "$DIR/data/mysql" ]; then
    fresh=1
    mkdir -p "$DIR"
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    password="$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
    echo "$port" >"$DIR/port"
    echo "$password" >"$DIR/password"
    if [ "$TLS" = on ]; then make_certificates; fi
    # A temporary folder of its own: servers bootstrapping side by side in one /tmp collide on temporary tables.
    mkdir -p "$DIR/tmp"
    mariadb-install-db --no-defaults --datadir="$DIR/data" --tmpdir="$DIR/tmp" --user="$user" --auth-root-authentication-method=normal \
      --skip-test-db >"$DIR/install.log" 2>&1 || die "mariadb-install-db failed (see $DIR/install.log)"
  fi
  port="$(cat "$DIR/port")"
  password="$(cat "$DIR/password")"
  [ -z "$(pid_of)" ] || die "already running in $DIR"
  local tls_options=()
  if [ -f "$DIR/tls/server.pem" ]; then
    tls_options=(--ssl-ca="$DIR/tls/ca.pem" --ssl-cert="$DIR/tls/server.pem" --ssl-key="$DIR/tls/server.key")
  fi
  # Own session (setsid): the server outlives this script and is stopped by pid, never by name. It keeps none of
  # the caller's file descriptors (a pipe it held open would keep the caller waiting for end of file).
  close_inherited_fds
  setsid mariadbd --no-defaults --datadir="$DIR/data" --tmpdir="$DIR/tmp" --socket="$DIR/mariadbd.sock" --port="$port" --bind-address=127.0.0.1 \
    --pid-file="$DIR/mariadbd.pid" --user="$user" --log-error="$DIR/error.log" --skip-name-resolve \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=32M --max-connections=500 "${tls_options[@]}" </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 300); do
    if mariadb-admin --no-defaults --socket="$DIR/mariadbd.sock" -uroot ping >/dev/null 2>&1; then break; fi
    sleep 0.1
  done
  mariadb-admin --no-defaults --socket="$DIR/mariadbd.sock" -uroot ping >/dev/null 2>&1 || die "mariadbd did not start (see $DIR/error.log)"
  if [ "$fresh" = 1 ]; then
    mariadb --no-defaults --socket="$DIR/mariadbd.sock" -uroot <<SQL
CREATE DATABASE wharf_test CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER 'wharf'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'wharf'@'127.0.0.1';
SQL
  fi
  echo "mysql://wharf:$password@127.0.0.1:$port/wharf_test"
}

case "$ACTION" in
  start) start ;;
  stop) stop ;;
  kill) stop KILL ;;
  remove) stop; rm -rf "$DIR" ;;
  *) echo "usage: $0 start|stop|kill|remove DIR" >&2; exit 2 ;;
esac
