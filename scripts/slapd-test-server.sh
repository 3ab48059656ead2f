#!/usr/bin/env bash
# A throwaway OpenLDAP server (slapd) for the tests, on loopback, with its data in a folder of its own.
#
#   scripts/slapd-test-server.sh start DIR    creates DIR (a fresh, seeded server on two free ports) or restarts the
#                                             server kept in DIR (same ports, same data); writes DIR/env and prints
#                                             the plain URL: ldap://127.0.0.1:PORT
#   scripts/slapd-test-server.sh stop DIR     stops it (the data stays, for a later start)
#   scripts/slapd-test-server.sh kill DIR     kills it with SIGKILL, as a crash would (the data stays)
#   scripts/slapd-test-server.sh remove DIR   stops it and deletes DIR
#
# It listens on ldap://127.0.0.1:P1 (StartTLS offered) and ldaps://127.0.0.1:P2, never on port 389, with a
# certificate for 127.0.0.1 signed by the throwaway CA DIR/tls/ca.pem; DIR/tls/other-ca.pem is an unrelated CA
# (for "the wrong CA is refused"). DIR/env holds, one per line, what the tests read:
#   WHARF_TEST_LDAP_URL, WHARF_TEST_LDAPS_URL, WHARF_TEST_LDAP_CA, WHARF_TEST_LDAP_OTHER_CA, WHARF_TEST_LDAP_BASE,
#   WHARF_TEST_LDAP_ADMIN_DN, WHARF_TEST_LDAP_ADMIN_PASSWORD, WHARF_TEST_LDAP_READER_DN,
#   WHARF_TEST_LDAP_READER_PASSWORD, WHARF_TEST_LDAP_DIR
#
# The seed (base dc=wharf,dc=test):
#   cn=admin,dc=wharf,dc=test               the rootdn: writes everything (password: random, in DIR/env)
#   cn=reader,ou=service,dc=wharf,dc=test   read-only bind account: reads everything but userPassword
#                                           (password: random, in DIR/env)
#   ou=people (inetOrgPerson; uid, cn, sn, mail, userPassword):
#     uid=alice   cn "Alice Liddell"   alice@wharf.test   password alice-password
#     uid=bob     cn "Bob Builder"     bob@wharf.test     password bob-password
#     uid=carol   cn "Carol Danvers"   carol@wharf.test   password carol-password
#     uid=dan, jr (*)   (a login with DN and filter specials; DN uid=dan\, jr (*),ou=people,dc=wharf,dc=test)
#                 cn "Dan Junior"      dan@wharf.test     password dan-password
#   ou=groups:
#     cn=developers  groupOfNames        member alice, bob
#     cn=admins      groupOfNames        member alice
#     cn=qa          groupOfUniqueNames  uniqueMember carol
#     cn=ops         posixGroup          memberUid bob, carol (gidNumber 5000)
# ACLs: a person may bind (auth) and read their own entry; any bound person reads ou=groups; the reader reads
# everything except userPassword; the admin writes; anonymous may only bind. slapd's default size limit (500
# entries per search) applies.
#
# Needs slapd and ldap-utils (scripts/install-deps.sh test installs them); Debian's own slapd service is not used.
set -euo pipefail

ACTION="${1:-}"
DIR="${2:-}"
[ -n "$ACTION" ] && [ -n "$DIR" ] || { echo "usage: $0 start|stop|kill|remove DIR" >&2; exit 2; }

die() { echo "slapd-test-server: $*" >&2; exit 1; }

BASE="dc=wharf,dc=test"
ADMIN_DN="cn=admin,$BASE"
READER_DN="cn=reader,ou=service,$BASE"

pid_of() { [ -f "$DIR/slapd.pid" ] && cat "$DIR/slapd.pid" 2>/dev/null || true; }

stop() {
  local pid signal="${1:-TERM}"
  pid="$(pid_of)"
  [ -n "$pid" ] || return 0
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$DIR/slapd.pid"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$DIR/slapd.pid"
}

close_inherited_fds() {
  local fd
  for fd in $(ls /proc/$$/fd 2>/dev/null); do
    if [ "$fd" -gt 2 ] && [ "$fd" != 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A throwaway CA and a server certificate for 127.0.0.1, valid two days; and a second CA that signs nothing here.
make_certificates() {
  local tls="$DIR/tls"
  mkdir -p "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=wharf-test-ldap-ca" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" >/dev/null 2>&1
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$tls/server.key" -out "$tls/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$tls/ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
    -extfile "$tls/ext" -out "$tls/server.pem" >/dev/null 2>&1 || die "cannot make the test certificates (openssl)"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=wharf-test-other-ca" \
    -keyout "$tls/other-ca.key" -out "$tls/other-ca.pem" >/dev/null 2>&1 || die "cannot make the other CA (openssl)"
}

hash_password() { slappasswd -h '{SSHA}' -s "$1"; }

write_config() {
  local admin_hash="$1"
  cat >"$DIR/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema

pidfile $DIR/slapd.pid
argsfile $DIR/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb

TLSCACertificateFile $DIR/tls/ca.pem
TLSCertificateFile $DIR/tls/server.pem
TLSCertificateKeyFile $DIR/tls/server.key

database mdb
maxsize 67108864
suffix "$BASE"
rootdn "$ADMIN_DN"
rootpw $admin_hash
directory $DIR/data

access to attrs=userPassword
  by dn.exact="$ADMIN_DN" write
  by anonymous auth
  by self auth
  by * none
access to dn.subtree="ou=groups,$BASE"
  by dn.exact="$ADMIN_DN" write
  by users read
  by * none
access to *
  by dn.exact="$ADMIN_DN" write
  by dn.exact="$READER_DN" read
  by self read
  by * none
CONF
}

write_seed() {
  local reader_hash="$1"
  cat >"$DIR/seed.ldif" <<LDIF
dn: $BASE
objectClass: dcObject
objectClass: organization
dc: wharf
o: Wharf test directory

dn: ou=people,$BASE
objectClass: organizationalUnit
ou: people

dn: ou=groups,$BASE
objectClass: organizationalUnit
ou: groups

dn: ou=service,$BASE
objectClass: organizationalUnit
ou: service

dn: $READER_DN
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: $reader_hash

LDIF
  local user cn sn mail rdn
  while IFS='|' read -r user rdn cn sn mail; do
    cat >>"$DIR/seed.ldif" <<LDIF
dn: uid=$rdn,ou=people,$BASE
objectClass: inetOrgPerson
uid: $user
cn: $cn
sn: $sn
mail: $mail
userPassword: $(hash_password "$(echo "$user" | cut -d, -f1)-password")

LDIF
  done <<'USERS'
alice|alice|Alice Liddell|Liddell|alice@wharf.test
bob|bob|Bob Builder|Builder|bob@wharf.test
carol|carol|Carol Danvers|Danvers|carol@wharf.test
dan, jr (*)|dan\, jr (*)|Dan Junior|Junior|dan@wharf.test
USERS
  cat >>"$DIR/seed.ldif" <<LDIF
dn: cn=developers,ou=groups,$BASE
objectClass: groupOfNames
cn: developers
member: uid=alice,ou=people,$BASE
member: uid=bob,ou=people,$BASE

dn: cn=admins,ou=groups,$BASE
objectClass: groupOfNames
cn: admins
member: uid=alice,ou=people,$BASE

dn: cn=qa,ou=groups,$BASE
objectClass: groupOfUniqueNames
cn: qa
uniqueMember: uid=carol,ou=people,$BASE

dn: cn=ops,ou=groups,$BASE
objectClass: posixGroup
cn: ops
gidNumber: 5000
memberUid: bob
memberUid: carol
LDIF
}

write_env() {
  cat >"$DIR/env" <<ENV
WHARF_TEST_LDAP_URL=ldap://127.0.0.1:$(cat "$DIR/port")
WHARF_TEST_LDAPS_URL=ldaps://127.0.0.1:$(cat "$DIR/ldaps-port")
WHARF_TEST_LDAP_CA=$DIR/tls/ca.pem
WHARF_TEST_LDAP_OTHER_CA=$DIR/tls/other-ca.pem
WHARF_TEST_LDAP_BASE=$BASE
WHARF_TEST_LDAP_ADMIN_DN=$ADMIN_DN
WHARF_TEST_LDAP_ADMIN_PASSWORD=$(cat "$DIR/admin-password")
WHARF_TEST_LDAP_READER_DN=$READER_DN
WHARF_TEST_LDAP_READER_PASSWORD=$(cat "$DIR/reader-password")
WHARF_TEST_LDAP_DIR=$DIR
ENV
}

start() {
  command -v slapd >/dev/null 2>&1 || PATH="$PATH:/usr/sbin"
  command -v slapd >/dev/null 2>&1 || die "slapd not found: install slapd and ldap-utils (scripts/install-deps.sh test)"
  command -v ldapsearch >/dev/null 2>&1 || die "ldapsearch not found: install ldap-utils (scripts/install-deps.sh test)"
  mkdir -p "$DIR"
  DIR="$(cd "$DIR" && pwd)"
  if [ ! -f "$DIR/data/data.mdb" ]; then
    local admin_password reader_password
    rm -rf "$DIR/data" && mkdir -p "$DIR/data"
    free_port >"$DIR/port"
    free_port >"$DIR/ldaps-port"
    [ "$(cat "$DIR/port")" != "$(cat "$DIR/ldaps-port")" ] || free_port >"$DIR/ldaps-port"
    admin_password="$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
    reader_password="$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
    echo "$admin_password" >"$DIR/admin-password"
    echo "$reader_password" >"$DIR/reader-password"
    make_certificates
    write_config "$(hash_password "$admin_password")"
    write_seed "$(hash_password "$reader_password")"
    slapadd -f "$DIR/slapd.conf" -l "$DIR/seed.ldif" >"$DIR/slapadd.log" 2>&1 || die "slapadd failed (see $DIR/slapadd.log)"
  fi
  local port ldaps_port
  port="$(cat "$DIR/port")"
  ldaps_port="$(cat "$DIR/ldaps-port")"
  if [ -n "$(pid_of)" ] && kill -0 "$(pid_of)" 2>/dev/null; then die "already running in $DIR"; fi
  rm -f "$DIR/slapd.pid"
  write_env
  # Own session (setsid): the server outlives this script and is stopped by pid, never by name. It keeps none of
  # the caller's file descriptors (a pipe it held open would keep the caller waiting for end of file). slapd
  # detaches itself and writes DIR/slapd.pid; start-up errors land in DIR/start.log.
  close_inherited_fds
  setsid slapd -f "$DIR/slapd.conf" -h "ldap://127.0.0.1:$port/ ldaps://127.0.0.1:$ldaps_port/" \
    </dev/null >"$DIR/start.log" 2>&1 &
  for _ in $(seq 1 300); do
    if ldapsearch -x -LLL -H "ldap://127.0.0.1:$port" -b "" -s base "(objectClass=*)" namingContexts >/dev/null 2>&1; then
      break
    fi
    sleep 0.1
  done
  ldapsearch -x -LLL -H "ldap://127.0.0.1:$port" -b "" -s base "(objectClass=*)" namingContexts >/dev/null 2>&1 \
    || die "slapd did not start (see $DIR/start.log)"
  for _ in $(seq 1 50); do [ -s "$DIR/slapd.pid" ] && break; sleep 0.1; done
  echo "ldap://127.0.0.1:$port"
}

case "$ACTION" in
  start) start ;;
  stop) stop ;;
  kill) stop KILL ;;
  remove) stop; rm -rf "$DIR" ;;
  *) echo "usage: $0 start|stop|kill|remove DIR" >&2; exit 2 ;;
esac
