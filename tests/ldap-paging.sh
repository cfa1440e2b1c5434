#!/bin/sh
# A directory far above the server's size limit is read whole with paged
# results; without paging, or from a server that caps paged searches too,
# the size limit is an error naming the server and the limit, never a
# silently shorter directory.  A referral that is not followed is an error
# too.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/ldap/slapd-harness.sh"

users=5200
slapd_init 500
{
	slapd_ldif_base
	sh "$top_srcdir/tests/ldap/gen-users.sh" "$users" bulk
} >"$TEST_TMP/bulk.ldif" || broken "cannot generate users"
slapd_load "$TEST_TMP/bulk.ldif"
slapd_start
conf="$TEST_TMP/orgauth.conf"
out="$TEST_TMP/out"
err="$TEST_TMP/err"

# The server really stops an unpaged search at 500 entries.
tr -d '\n' <"$READER_PW_FILE" >"$TEST_TMP/pw.raw"
n=$(ldapsearch -x -H "$SLAPD_URI" -D "$READER_DN" -y "$TEST_TMP/pw.raw" \
	-b "$SLAPD_BASE" -LLL '(objectClass=posixAccount)' dn 2>/dev/null |
	grep -c '^dn:')
expect_eq "entries of an unpaged search" 500 "$n"

# Paged (500 a page, the default): every user is there.
ldap_conf "$conf"
octl --config "$conf" user bulk05199 >"$out" 2>"$err" ||
	{ cat "$err"; fail "paged read: last user missing"; }
expect_contains "last user" bulk05199 "$(cat "$out")"
octl --config "$conf" user bulk00000 >"$out" 2>"$err" ||
	{ cat "$err"; fail "paged read: first user missing"; }
octl --config "$conf" org bulk >"$out" 2>"$err" ||
	{ cat "$err"; fail "paged read: organisation"; }
expect_contains "org dashboard" bulk05199 "$(cat "$out")"

# Small pages work too (many round trips).
ldap_conf "$conf" "ldap_page_size = 97"
octl --config "$conf" user bulk05199 >"$out" 2>"$err" ||
	{ cat "$err"; fail "page size 97"; }

# Pages larger than the server's limit: slapd serves them whole when the
# account may page past its limit; what must never happen is a shorter
# directory without an error.
ldap_conf "$conf" "ldap_page_size = 2000"
octl --config "$conf" org bulk >"$out" 2>"$err" ||
	{ cat "$err"; fail "page size 2000"; }
expect_contains "page size 2000" bulk05199 "$(cat "$out")"

# Paging off: the size limit is reported, not a truncated directory.
ldap_conf "$conf" "ldap_page_size = 0"
if octl --config "$conf" user bulk00001 >"$out" 2>"$err"; then
	fail "unpaged read of $users users over a limit of 500 succeeded"
fi
expect_contains "unpaged" "$SLAPD_URI" "$(cat "$err")"
expect_contains "unpaged" "size limit" "$(cat "$err")"
expect_contains "unpaged" "not read whole" "$(cat "$err")"

# A server that caps the total of a paged search at its size limit (the
# slapd default): reported as well, even with paging on.
slapd_stop
slapd_set_limits "size.soft=500 size.hard=500"
slapd_start
ldap_conf "$conf"
if octl --config "$conf" user bulk00001 >"$out" 2>"$err"; then
	fail "paged read past a capped server limit succeeded"
fi
expect_contains "capped" "$SLAPD_URI" "$(cat "$err")"
expect_contains "capped" "size limit" "$(cat "$err")"

# A subordinate referral inside the tree: the part behind it is elsewhere,
# so the directory cannot be read whole from this server.
slapd_stop
slapd_set_limits "size.soft=500 size.hard=500 size.prtotal=unlimited"
printf '%s\n' "dn: ou=elsewhere,$SLAPD_BASE" "objectClass: referral" \
	"objectClass: extensibleObject" "ou: elsewhere" \
	"ref: ldap://127.0.0.1:9/ou=elsewhere,$SLAPD_BASE" \
	>"$TEST_TMP/referral.ldif"
"$SLAPADD" -q -n1 -F "$SLAPD_DIR/conf" -l "$TEST_TMP/referral.ldif" \
	>/dev/null 2>&1 || broken "cannot add the referral"
slapd_start
ldap_conf "$conf"
if octl --config "$conf" user bulk00001 >"$out" 2>"$err"; then
	fail "a directory with an unfollowed referral was used"
fi
expect_contains "referral" "$SLAPD_URI" "$(cat "$err")"
expect_contains "referral" "reference" "$(cat "$err")"
# A base that is itself behind the referral: the search's result is a
# referral, not followed either.
ldap_conf "$conf" "ldap_base = ou=elsewhere,$SLAPD_BASE"
if octl --config "$conf" user bulk00001 >"$out" 2>"$err"; then
	fail "a base behind a referral was used"
fi
expect_contains "referral result" "$SLAPD_URI" "$(cat "$err")"
expect_contains "referral result" "referral, which is not followed" \
	"$(cat "$err")"
exit 0
