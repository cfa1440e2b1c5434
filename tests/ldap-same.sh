#!/bin/sh
# One mapping, two sources: the sample directory read from a real slapd
# gives the same roles as the same entries read from the LDIF file: the
# same `orgauthctl user` and `orgauthctl org` output for every user and
# organisation, and the same compiled cache.  A copy whose member
# references are spelt differently (spaces, case, escapes) loads the same
# too: DNs are compared normalised.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/ldap/slapd-harness.sh"

sample="$top_srcdir/examples/directory.ldif"
slapd_init
slapd_load "$sample"
slapd_start
ldif_conf="$TEST_TMP/ldif.conf"
ldap_conf="$TEST_TMP/ldap.conf"
printf '%s\n' "directory = ldif" "directory_ldif = $sample" \
	"cache_file = $TEST_TMP/cache.ldif" "mfa_dir = $TEST_TMP/mfa" \
	>"$ldif_conf"
ldap_conf "$ldap_conf" "cache_file = $TEST_TMP/cache.ldap"

# Names of the sample's users and organisations, from the file itself.
users=$(awk '/^uid: / { print $2 }' "$sample")
orgs=$(awk 'BEGIN { RS = "" } /objectClass: orgauthOrganization/ {
	if (match($0, /\no: [^\n]*/)) print substr($0, RSTART + 4, RLENGTH - 4) }' "$sample")
[ "$(echo "$users" | wc -w)" -ge 5 ] || broken "no users found in $sample"
[ "$(echo "$orgs" | wc -w)" -ge 2 ] || broken "no organisations in $sample"

# same CMD NAME: identical output and status from both sources.  The LDIF
# side is the reference, not under test here: it runs without valgrind.
same() {
	"$ORGAUTHCTL" --config "$ldif_conf" "$1" "$2" >"$TEST_TMP/a" \
		2>"$TEST_TMP/a.err"
	a=$?
	octl --config "$ldap_conf" "$1" "$2" >"$TEST_TMP/b" 2>"$TEST_TMP/b.err"
	b=$?
	[ $a = 0 ] || { cat "$TEST_TMP/a.err"; fail "$1 $2 from LDIF: exit $a"; }
	[ $b = 0 ] || { cat "$TEST_TMP/b.err"; fail "$1 $2 from LDAP: exit $b"; }
	[ -s "$TEST_TMP/a" ] || fail "$1 $2: no output"
	cmp -s "$TEST_TMP/a" "$TEST_TMP/b" || {
		diff -u "$TEST_TMP/a" "$TEST_TMP/b" >&2
		fail "$1 $2: LDAP and LDIF differ"
	}
}
for u in $users; do same user "$u"; done
for o in $orgs; do same org "$o"; done
octl --config "$ldap_conf" check >/dev/null 2>"$TEST_TMP/err" ||
	{ cat "$TEST_TMP/err"; fail "check from LDAP"; }

# The compiled caches: the same users, groups and organisations.  (The
# files themselves differ only in their build time, so they are
# byte-identical when both syncs fall in the same second.)
# listing CONF: the cache's full listing, less its path and build time.
listing() {
	octl --config "$1" cache --users --groups --orgs 2>&1 |
		grep -v -e '^cache:' -e '^built:'
}
sync_built "$ldif_conf" || skip "orgauthctl sync not built yet"
octl --config "$ldif_conf" sync >/dev/null 2>"$TEST_TMP/err" ||
	{ cat "$TEST_TMP/err"; fail "sync from LDIF"; }
listing "$ldif_conf" >"$TEST_TMP/cache.ldif.txt" || fail "cache listing (LDIF)"
grep -q '^alice ' "$TEST_TMP/cache.ldif.txt" ||
	{ cat "$TEST_TMP/cache.ldif.txt"; broken "no users in the listing"; }
# same_cache WHAT: a sync from LDAP lists as the one from LDIF.
same_cache() {
	rm -f "$TEST_TMP/cache.ldap"
	octl --config "$ldap_conf" sync >/dev/null 2>"$TEST_TMP/err" ||
		{ cat "$TEST_TMP/err"; fail "$1: sync from LDAP"; }
	listing "$ldap_conf" >"$TEST_TMP/cache.ldap.txt" ||
		fail "$1: cache listing (LDAP)"
	cmp -s "$TEST_TMP/cache.ldif.txt" "$TEST_TMP/cache.ldap.txt" || {
		diff -u "$TEST_TMP/cache.ldif.txt" "$TEST_TMP/cache.ldap.txt" >&2
		fail "$1: caches from LDAP and LDIF differ"
	}
}
same_cache "one base"
if cmp -s "$TEST_TMP/cache.ldif" "$TEST_TMP/cache.ldap"; then
	echo "caches from LDIF and LDAP are byte-identical"
fi

# A search base per class reads the same directory.
ldap_conf "$ldap_conf" "cache_file = $TEST_TMP/cache.ldap" \
	"ldap_base = " "ldap_user_base = ou=people,$SLAPD_BASE" \
	"ldap_org_base = ou=organisations,$SLAPD_BASE" \
	"ldap_project_base = ou=projects,$SLAPD_BASE" \
	"ldap_dataset_base = ou=datasets,$SLAPD_BASE"
same_cache "per-class bases"
# Nested bases (organisations under their branch, the rest under the
# whole tree): two searches, the same directory.
ldap_conf "$ldap_conf" "cache_file = $TEST_TMP/cache.ldap" \
	"ldap_org_base = ou=organisations,$SLAPD_BASE"
same_cache "nested bases"
# A base that holds no organisations: none are read, and every user's
# home organisation is then missing.
ldap_conf "$ldap_conf" "ldap_org_base = ou=projects,$SLAPD_BASE"
octl --config "$ldap_conf" check >/dev/null 2>"$TEST_TMP/err" &&
	fail "check passed without organisations"
octl --config "$ldap_conf" org acme >"$TEST_TMP/b" 2>"$TEST_TMP/err" &&
	fail "organisation acme found outside ldap_org_base"
# An extra filter narrows a class: without oscar, globex's reference to
# him dangles, and he is no user.
ldap_conf "$ldap_conf" "ldap_user_filter = (!(uid=oscar))"
octl --config "$ldap_conf" user oscar >"$TEST_TMP/b" 2>"$TEST_TMP/err" &&
	fail "ldap_user_filter did not exclude oscar"
grep -q '^user:' "$TEST_TMP/b" && fail "oscar shown despite the filter"
grep -q 'uid=oscar' "$TEST_TMP/err" ||
	{ cat "$TEST_TMP/err"; fail "no dangling reference to oscar reported"; }
octl --config "$ldap_conf" user alice >"$TEST_TMP/b" 2>"$TEST_TMP/err"
grep -q '^user: alice$' "$TEST_TMP/b" || fail "the filter excluded alice"

# References spelt differently from the DNs they name: spaces after the
# commas and upper case in the attribute types and values of the
# reference.  slapd hands them back in its own form; both sources must
# still resolve them.
slapd_stop
rm -rf "$SLAPD_DIR"
sed -e '/^orgauth[A-Za-z]*: uid=/{s/,/, /g;s/uid=/UID=/;s/ou=people/OU=People/}' \
	"$sample" >"$TEST_TMP/spelt.ldif"
cmp -s "$sample" "$TEST_TMP/spelt.ldif" && broken "sed changed nothing"
slapd_init
slapd_load "$TEST_TMP/spelt.ldif"
slapd_start
ldap_conf "$ldap_conf" "cache_file = $TEST_TMP/cache.ldap"
same_cache "references spelt differently"
same user walt
same org acme
exit 0
