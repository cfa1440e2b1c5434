#!/bin/sh
# Filter injection.  Names holding '*', '(', ')', '\' or NUL, in the
# directory, in a lookup or in the mapping, never widen a search: the
# filters slapd receives (its stats log) keep their shape, and such users
# are handled as the LDIF source handles the same entries.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/ldap/slapd-harness.sh"

sample="$top_srcdir/examples/directory.ldif"
# evil RDN UID-LINE NUMBER: a user entry with a hostile uid.
evil() {
	printf '%s\n' "" "dn: $1,ou=people,dc=example,dc=org" \
		"objectClass: inetOrgPerson" "objectClass: posixAccount" \
		"objectClass: orgauthUser" "$2" "cn: Evil $3" "sn: Evil" \
		"uidNumber: $3" "gidNumber: $3" "homeDirectory: /home/evil$3"
}
{
	cat "$sample"
	evil 'uid=star*' 'uid: star*' 7001
	evil 'uid=\28x\29' 'uid: (x)' 7002
	evil 'uid=back\5c' 'uid: back\' 7003
	evil 'cn=nul' 'uid:: bnUAbA==' 7004 # "nu", NUL, "l"
	evil 'uid=\2a' 'uid: *' 7005
} >"$TEST_TMP/evil.ldif"
slapd_init
slapd_load "$TEST_TMP/evil.ldif"
slapd_start
conf="$TEST_TMP/orgauth.conf"
ldif_conf="$TEST_TMP/ldif.conf"
out="$TEST_TMP/out"
err="$TEST_TMP/err"
log="$SLAPD_DIR/slapd.log"
printf '%s\n' "directory = ldif" "directory_ldif = $TEST_TMP/evil.ldif" \
	"cache_file = $TEST_TMP/cache.ldif" "mfa_dir = $TEST_TMP/mfa" \
	>"$ldif_conf"
ldap_conf "$conf"

# Lookups of hostile names find nobody and show nobody's data, from
# either source; a real user still answers.  (The hostile entries make the
# directory invalid, so every command exits 1, showing what is valid.)
for c in "$conf" "$ldif_conf"; do
	for name in '*' 'star*' '(x)' 'back\' 'nu' '*)(uid=*' 'alice*' 'a*'; do
		octl --config "$c" user "$name" >"$out" 2>"$err"
		[ $? -ne 0 ] || fail "lookup of '$name' succeeded ($c)"
		! grep -q '^user:' "$out" || fail "lookup of '$name' found a user"
	done
	octl --config "$c" user alice >"$out" 2>"$err"
	grep -q '^user: alice$' "$out" || { cat "$err"; fail "alice not found"; }
done

# The hostile entries are reported the same way by both sources (the
# names are not valid user names, the NUL is caught): same outcome, same
# output but for where each problem came from.
octl --config "$conf" check >"$out" 2>"$err"
s1=$?
octl --config "$ldif_conf" check >"$TEST_TMP/out.ldif" 2>"$TEST_TMP/err.ldif"
s2=$?
expect_eq "check status, LDAP vs LDIF" "$s2" "$s1"
[ "$s1" -ne 0 ] || fail "hostile entries passed the check"
for what in "'star*'" "'(x)'" "'back\\'" "'*'" "cn=nul"; do
	grep -qF -- "$what" "$err" ||
		{ cat "$err"; fail "no problem reported for the entry of $what"; }
done
sed 's/^[^ ]*: //' "$err" | sort >"$TEST_TMP/p.ldap"
sed 's/^[^ ]*: //' "$TEST_TMP/err.ldif" | sort >"$TEST_TMP/p.ldif"
cmp -s "$TEST_TMP/p.ldap" "$TEST_TMP/p.ldif" || {
	diff -u "$TEST_TMP/p.ldif" "$TEST_TMP/p.ldap" >&2
	fail "LDAP and LDIF report the hostile entries differently"
}

# Mapping values with filter syntax are escaped: slapd receives an
# equality test on the literal value, never a presence test or a second
# filter item.
: >"$log.mark"
for cls in '*' 'posixAccount)(objectClass=*' 'x)(|(uid=*'; do
	ldap_conf "$conf" "map_user_class = $cls"
	octl --config "$conf" check >"$out" 2>"$err"
done
grep -a 'SRCH base=' "$log" | grep -a 'scope=2' >"$TEST_TMP/filters" ||
	broken "no search in slapd's log"
for want in '(?objectClass=\2A)' \
	'(?objectClass=posixAccount\29\28objectClass=\2A)' \
	'(?objectClass=x\29\28|\28uid=\2A)'; do
	grep -qF -- "$want" "$TEST_TMP/filters" ||
		{ cat "$TEST_TMP/filters" >&2; fail "filter $want not sent"; }
done
! grep -aqF '(objectClass=*)' "$TEST_TMP/filters" ||
	fail "a presence filter reached the server"
! grep -aqF '(uid=*)' "$TEST_TMP/filters" ||
	fail "an injected filter item reached the server"
exit 0
