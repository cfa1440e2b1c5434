#!/bin/sh
# The LDAP source's connection: StartTLS and ldaps with the right CA, and
# refusal with a wrong one; plain ldap:// only when explicitly allowed; the
# bind password file's mode and owner; anonymous bind; several URIs tried
# in order.  Against a real slapd on free 127.0.0.1 ports.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/ldap/slapd-harness.sh"

slapd_init
slapd_load "$top_srcdir/examples/directory.ldif"
slapd_start
conf="$TEST_TMP/orgauth.conf"
out="$TEST_TMP/out"
err="$TEST_TMP/err"

# loads CONF...: `orgauthctl check` reads the directory through the conf.
loads() {
	ldap_conf "$conf" "$@"
	octl --config "$conf" check >"$out" 2>"$err"
}

# StartTLS and ldaps with the CA that signed the server's certificate.
loads || { cat "$err"; fail "StartTLS with the right CA"; }
loads "ldap_uri = $SLAPD_URI_TLS" || { cat "$err"; fail "ldaps with the right CA"; }
# The same with the CA in a folder instead of a file.
mkdir "$TEST_TMP/cadir"
cp "$SLAPD_CA" "$TEST_TMP/cadir/"
openssl rehash "$TEST_TMP/cadir" >/dev/null 2>&1 || c_rehash "$TEST_TMP/cadir" >/dev/null 2>&1
loads "ldap_ca_file = " "ldap_ca_dir = $TEST_TMP/cadir" ||
	{ cat "$err"; fail "StartTLS with ldap_ca_dir"; }

# A CA that did not sign the server's certificate: both refused, and the
# message names the server and the step.
tls_make_ca wrong
if loads "ldap_ca_file = $TEST_TMP/tls/wrong-ca.pem"; then
	fail "StartTLS accepted a certificate from another CA"
fi
expect_contains "wrong CA, StartTLS" "$SLAPD_URI" "$(cat "$err")"
expect_contains "wrong CA, StartTLS" "StartTLS failed" "$(cat "$err")"
if loads "ldap_uri = $SLAPD_URI_TLS" \
	"ldap_ca_file = $TEST_TMP/tls/wrong-ca.pem"; then
	fail "ldaps accepted a certificate from another CA"
fi
expect_contains "wrong CA, ldaps" "$SLAPD_URI_TLS" "$(cat "$err")"
expect_contains "wrong CA, ldaps" "TLS handshake" "$(cat "$err")"

# libldap's own defaults (ldap.conf, LDAPTLS_* variables) cannot weaken
# the check: with TLS_REQCERT never and the wrong CA as the default, the
# configured CA still decides.
# with_ldap_env CMD...: CMD with libldap's defaults read again, and set to
# trust the wrong CA and to check nothing.
with_ldap_env() (
	unset LDAPNOINIT
	LDAPTLS_REQCERT=never
	LDAPTLS_CACERT="$TEST_TMP/tls/wrong-ca.pem"
	export LDAPTLS_REQCERT LDAPTLS_CACERT
	"$@"
)
ldap_conf "$conf" "ldap_ca_file = $TEST_TMP/tls/wrong-ca.pem"
if with_ldap_env octl --config "$conf" check >"$out" 2>"$err"; then
	fail "LDAPTLS_REQCERT=never in the environment disabled the check"
fi
ldap_conf "$conf"
with_ldap_env octl --config "$conf" check >"$out" 2>"$err" ||
	{ cat "$err"; fail "LDAPTLS_CACERT in the environment overrode ldap_ca_file"; }

# Plain ldap:// without StartTLS: refused unless explicitly allowed.
if loads "ldap_starttls = no"; then
	fail "plain ldap:// accepted without ldap_allow_plaintext"
fi
expect_contains "plain ldap" "without StartTLS is refused" "$(cat "$err")"
loads "ldap_starttls = no" "ldap_allow_plaintext = yes" ||
	{ cat "$err"; fail "plain ldap:// with ldap_allow_plaintext"; }
# Allowing plain text does not turn StartTLS off, nor its checks.
if loads "ldap_allow_plaintext = yes" \
	"ldap_ca_file = $TEST_TMP/tls/wrong-ca.pem"; then
	fail "ldap_allow_plaintext let a failed StartTLS fall back to plain"
fi

# The bind password file: refused when group or others may read it, or
# when someone else owns it; the password is never printed.
chmod 0644 "$READER_PW_FILE"
if loads; then
	fail "a bind password file of mode 0644 was used"
fi
expect_contains "password file 0644" "mode 0644" "$(cat "$err")"
no_secret_in "$out" "$err"
chmod 0640 "$READER_PW_FILE"
loads && fail "a bind password file of mode 0640 was used"
chmod 0600 "$READER_PW_FILE"
if [ "$(id -u)" = 0 ]; then
	chown 4242 "$READER_PW_FILE"
	loads && fail "a bind password file owned by uid 4242 was used"
	expect_contains "password file owner" "owned by uid 4242" "$(cat "$err")"
	chown 0 "$READER_PW_FILE"
fi
loads || { cat "$err"; fail "bind with a 0600 password file"; }
# A wrong password fails the bind; neither password is printed.
printf 'not-the-password\n' >"$TEST_TMP/wrong.pw"
chmod 0600 "$TEST_TMP/wrong.pw"
if loads "ldap_bind_password_file = $TEST_TMP/wrong.pw"; then
	fail "a wrong bind password was accepted"
fi
expect_contains "wrong password" "Invalid credentials" "$(cat "$err")"
no_secret_in "$out" "$err"
! grep -q not-the-password "$out" "$err" || fail "wrong password printed"

# Anonymous bind when no bind DN is configured.
loads "ldap_bind_dn = " "ldap_bind_password_file = " ||
	{ cat "$err"; fail "anonymous bind"; }

# Several URIs: the first (a closed loopback port) fails, the second is read.
closed=$(free_port)
loads "ldap_uri = ldap://127.0.0.1:$closed $SLAPD_URI_TLS" ||
	{ cat "$err"; fail "second URI not used after a closed port"; }
# When none answers, each server is named with its reason.
closed2=$(free_port)
if loads "ldap_uri = ldap://127.0.0.1:$closed ldaps://127.0.0.1:$closed2"; then
	fail "load succeeded with no server"
fi
expect_contains "no server" "ldap://127.0.0.1:$closed" "$(cat "$err")"
expect_contains "no server" "ldaps://127.0.0.1:$closed2" "$(cat "$err")"
exit 0
