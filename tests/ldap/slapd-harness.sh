# A private slapd for the LDAP tests; source it after tests/lib.sh.
#
#   tls_make_ca NAME             throwaway CA in $TEST_TMP/tls/NAME-ca.pem
#   slapd_init [SIZELIMIT]       temporary cn=config (schema, mdb database
#                                for dc=example,dc=org, TLS, size limit)
#   slapd_load FILE.ldif         slapadd FILE into the database
#   slapd_start                  listen on free 127.0.0.1 ports only and
#                                wait until it answers; stopped on exit
#   slapd_stop                   stop it now
#
# After slapd_start: SLAPD_URI (ldap://), SLAPD_URI_TLS (ldaps://),
# SLAPD_PORT, SLAPD_TLS_PORT, SLAPD_CA (the CA that signed its
# certificate), READER_DN and READER_PW_FILE (a non-root bind account,
# since the rootdn ignores size limits), SLAPD_BASE.

SLAPD=${SLAPD:-/usr/sbin/slapd}
SLAPADD=${SLAPADD:-/usr/sbin/slapadd}
LDAP_SCHEMA_DIR=${LDAP_SCHEMA_DIR:-/etc/ldap/schema}
ORGAUTH_SCHEMA=${ORGAUTH_SCHEMA:-$top_srcdir/examples/orgauth-schema.ldif}
SLAPD_BASE="dc=example,dc=org"
READER_DN="cn=reader,$SLAPD_BASE"
SLAPD_PID=""
# libldap's clients here must not read the host's ldap.conf or ~/.ldaprc.
LDAPNOINIT=1
export LDAPNOINIT

slapd_require() {
	for _tool in "$SLAPD" "$SLAPADD" ldapsearch openssl ss; do
		command -v "$_tool" >/dev/null 2>&1 ||
			skip "$_tool not installed (tests/install-deps)"
	done
	for _s in core cosine nis inetorgperson; do
		[ -r "$LDAP_SCHEMA_DIR/$_s.ldif" ] ||
			skip "$LDAP_SCHEMA_DIR/$_s.ldif missing (slapd package)"
	done
	[ -r "$ORGAUTH_SCHEMA" ] || broken "no schema at $ORGAUTH_SCHEMA"
}

# tls_make_ca NAME: a self-signed CA, key and certificate.
tls_make_ca() {
	mkdir -p "$TEST_TMP/tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -days 2 -subj "/CN=orgauth test CA $1" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$TEST_TMP/tls/$1-ca.key" \
		-out "$TEST_TMP/tls/$1-ca.pem" >/dev/null 2>&1 ||
		broken "openssl: cannot make CA $1"
}

# tls_make_server CA: a certificate for 127.0.0.1 signed by CA.
tls_make_server() {
	_tls="$TEST_TMP/tls"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=127.0.0.1" -keyout "$_tls/server.key" \
		-out "$_tls/server.csr" >/dev/null 2>&1 ||
		broken "openssl: cannot make the server key"
	printf '%s\n' "subjectAltName=IP:127.0.0.1" \
		"extendedKeyUsage=serverAuth" \
		"keyUsage=critical,digitalSignature,keyEncipherment" \
		>"$_tls/server.ext"
	openssl x509 -req -in "$_tls/server.csr" -CA "$_tls/$1-ca.pem" \
		-CAkey "$_tls/$1-ca.key" -CAcreateserial -days 2 \
		-extfile "$_tls/server.ext" -out "$_tls/server.pem" >/dev/null 2>&1 ||
		broken "openssl: cannot sign the server certificate"
}

# slapd_init [SIZELIMIT]: the server's size limit on every search (500 by
# default); the reader's paged searches may go past it in total
# (size.prtotal), as doc/ldap.md tells a site to configure it.
slapd_init() {
	slapd_require
	_limit=${1:-500}
	SLAPD_DIR="$TEST_TMP/slapd"
	mkdir -p "$SLAPD_DIR/conf" "$SLAPD_DIR/db"
	tls_make_ca good
	tls_make_server good
	SLAPD_CA="$TEST_TMP/tls/good-ca.pem"
	READER_PW_FILE="$TEST_TMP/reader.pw"
	printf 'reader-%s\n' "$$" >"$READER_PW_FILE"
	chmod 600 "$READER_PW_FILE"
	cat >"$SLAPD_DIR/config.ldif" <<EOC
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $SLAPD_DIR/slapd.pid
olcArgsFile: $SLAPD_DIR/slapd.args
olcTLSCACertificateFile: $TEST_TMP/tls/good-ca.pem
olcTLSCertificateFile: $TEST_TMP/tls/server.pem
olcTLSCertificateKeyFile: $TEST_TMP/tls/server.key

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://$LDAP_SCHEMA_DIR/core.ldif

include: file://$LDAP_SCHEMA_DIR/cosine.ldif

include: file://$LDAP_SCHEMA_DIR/nis.ldif

include: file://$LDAP_SCHEMA_DIR/inetorgperson.ldif

include: file://$ORGAUTH_SCHEMA

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $SLAPD_BASE
olcDbDirectory: $SLAPD_DIR/db
olcDbMaxSize: 268435456
olcRootDN: cn=admin,$SLAPD_BASE
olcSizeLimit: size.soft=$_limit size.hard=$_limit
olcLimits: dn.exact="$READER_DN" size.soft=$_limit size.hard=$_limit
  size.prtotal=unlimited
olcDbIndex: objectClass eq
olcAccess: {0}to attrs=userPassword by anonymous auth by * none
olcAccess: {1}to * by * read
EOC
	"$SLAPADD" -n0 -F "$SLAPD_DIR/conf" -l "$SLAPD_DIR/config.ldif" \
		>"$SLAPD_DIR/slapadd.log" 2>&1 ||
		{ cat "$SLAPD_DIR/slapadd.log" >&2; broken "slapadd -n0 failed"; }
}

# slapd_load FILE: adds an LDIF file (the base entry included) and the
# reader account used for binding.
slapd_load() {
	"$SLAPADD" -q -n1 -F "$SLAPD_DIR/conf" -l "$1" \
		>>"$SLAPD_DIR/slapadd.log" 2>&1 ||
		{ cat "$SLAPD_DIR/slapadd.log" >&2; broken "slapadd $1 failed"; }
	_pw=$(cat "$READER_PW_FILE")
	printf '%s\n' "dn: $READER_DN" "objectClass: organizationalRole" \
		"objectClass: simpleSecurityObject" "cn: reader" \
		"userPassword: $_pw" >"$SLAPD_DIR/reader.ldif"
	"$SLAPADD" -q -n1 -F "$SLAPD_DIR/conf" -l "$SLAPD_DIR/reader.ldif" \
		>>"$SLAPD_DIR/slapadd.log" 2>&1 ||
		{ cat "$SLAPD_DIR/slapadd.log" >&2; broken "slapadd reader failed"; }
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
	while :; do
		_port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
		[ -z "$(ss -Hltn "sport = :$_port")" ] && break
	done
	echo "$_port"
}

# slapd_answers: true once the plain listener answers a root DSE read.
slapd_answers() {
	ldapsearch -x -H "$SLAPD_URI" -b "" -s base -o nettimeout=2 \
		-l 2 objectClass >/dev/null 2>&1
}

slapd_start() {
	_tries=0
	while :; do
		_tries=$((_tries + 1))
		SLAPD_PORT=$(free_port)
		SLAPD_TLS_PORT=$(free_port)
		[ "$SLAPD_PORT" != "$SLAPD_TLS_PORT" ] || continue
		SLAPD_URI="ldap://127.0.0.1:$SLAPD_PORT"
		SLAPD_URI_TLS="ldaps://127.0.0.1:$SLAPD_TLS_PORT"
		# -d stats: stay in the foreground (this shell owns the pid) and log
		# each operation, filters included, to slapd.log.
		"$SLAPD" -d stats -h "$SLAPD_URI/ $SLAPD_URI_TLS/" \
			-F "$SLAPD_DIR/conf" >>"$SLAPD_DIR/slapd.log" 2>&1 &
		SLAPD_PID=$!
		add_cleanup slapd_stop
		_i=0
		while [ $_i -lt 100 ]; do
			if slapd_answers; then
				slapd_loopback_only
				return 0
			fi
			kill -0 "$SLAPD_PID" 2>/dev/null || break
			sleep 0.1
			_i=$((_i + 1))
		done
		slapd_stop
		# A port taken between free_port and bind: try others.
		[ $_tries -lt 5 ] || {
			cat "$SLAPD_DIR/slapd.log" >&2
			broken "slapd did not start"
		}
	done
}

# slapd_loopback_only: every socket slapd listens on is one of ours.
slapd_loopback_only() {
	ss -Hltnup | grep "pid=$SLAPD_PID," | awk '{ print $5 }' |
		sort >"$SLAPD_DIR/listening"
	printf '%s\n' "127.0.0.1:$SLAPD_PORT" "127.0.0.1:$SLAPD_TLS_PORT" |
		sort >"$SLAPD_DIR/expected"
	cmp -s "$SLAPD_DIR/listening" "$SLAPD_DIR/expected" || {
		cat "$SLAPD_DIR/listening" >&2
		broken "slapd listens on more than 127.0.0.1:$SLAPD_PORT and :$SLAPD_TLS_PORT"
	}
}

slapd_stop() {
	if [ -n "$SLAPD_PID" ]; then
		kill "$SLAPD_PID" 2>/dev/null
		# A test may have stopped it with SIGSTOP.
		kill -CONT "$SLAPD_PID" 2>/dev/null
		wait "$SLAPD_PID" 2>/dev/null
		SLAPD_PID=""
	fi
}

# slapd_ldif_base: the en_tries above the orgauth data, for generated
# fixtures.
slapd_ldif_base() {
	printf '%s\n' "dn: $SLAPD_BASE" "objectClass: dcObject" \
		"objectClass: organization" "dc: example" "o: Example" ""
}

# ldap_conf FILE [KEY = VALUE]...: a configuration that reads the test's
# slapd over StartTLS with the right CA, bound as the reader account, with
# its cache in the test folder.  Each argument overrides the default of its
# key; "KEY = " (no value) drops the key.
ldap_conf() {
	_lc_out=$1
	shift
	{
		printf '%s\n' "directory = ldap" "ldap_uri = $SLAPD_URI" \
			"ldap_base = $SLAPD_BASE" "ldap_ca_file = $SLAPD_CA" \
			"ldap_bind_dn = $READER_DN" \
			"ldap_bind_password_file = $READER_PW_FILE" \
			"cache_file = $TEST_TMP/cache" "mfa_dir = $TEST_TMP/mfa"
		for kv; do printf '%s\n' "$kv"; done
	} | awk -F' = ' '
		!($1 in v) { order[++n] = $1 }
		{ v[$1] = $0 }
		END { for (i = 1; i <= n; i++) if (v[order[i]] !~ / = ?$/) print v[order[i]] }' >"$_lc_out"
}

# slapd_set_limits LIMITS: replaces the reader's limits (slapd stopped),
# e.g. "size.soft=500 size.hard=500" for a server that does not let paged
# searches pass its limit.
slapd_set_limits() {
	printf '%s\n' "dn: olcDatabase={1}mdb,cn=config" "changetype: modify" \
		"replace: olcLimits" "olcLimits: dn.exact=\"$READER_DN\" $1" \
		>"$SLAPD_DIR/limits.ldif"
	/usr/sbin/slapmodify -n0 -F "$SLAPD_DIR/conf" \
		-l "$SLAPD_DIR/limits.ldif" >>"$SLAPD_DIR/slapadd.log" 2>&1 ||
		{ cat "$SLAPD_DIR/slapadd.log" >&2; broken "slapmodify failed"; }
}

# no_secret_in FILE...: the reader's bind password appears in none of them.
no_secret_in() {
	_pw=$(cat "$READER_PW_FILE")
	for _f; do
		! grep -qF -- "$_pw" "$_f" || fail "bind password printed in $_f"
	done
}

# sync_built CONF: true when `orgauthctl sync` exists in this build (it
# lands separately; the tests that need it skip until then).
sync_built() {
	! octl --config "$1" sync --help 2>&1 | grep -q 'not built yet'
}

# octl_bounded ARGS...: octl, killed after 300 s, so that a sync that hangs
# (a server that accepts and falls silent) fails the test instead of
# stalling the suite.  Not a timing assertion: a working sync takes
# seconds even under valgrind.
octl_bounded() {
	if [ "${ORGAUTH_VALGRIND:-0}" = 1 ]; then
		timeout 300 valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite \
			--suppressions="$top_srcdir/tests/valgrind.supp" \
			"$ORGAUTHCTL" "$@"
	else
		timeout 300 "$ORGAUTHCTL" "$@"
	fi
}
