#!/bin/sh
# Benchmark (not part of make check): USERS generated users in one
# organisation, loaded into a private slapd (size limit 500) and synced
# from it with several page sizes, against the same entries as an LDIF
# file.  Prints wall time and peak memory of each `orgauthctl sync`.
#     tests/bench/ldap-sync.sh BUILD-DIR [USERS]
set -u
top_builddir=$(cd "${1:?usage: ldap-sync.sh BUILD-DIR [USERS]}" && pwd)
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
users=${2:-50000}
export top_srcdir top_builddir
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/ldap/slapd-harness.sh"

slapd_init 500
{
	slapd_ldif_base
	sh "$top_srcdir/tests/ldap/gen-users.sh" "$users" bulk
} >"$TEST_TMP/bulk.ldif"
slapd_load "$TEST_TMP/bulk.ldif"
slapd_start
printf '%s\n' "directory = ldif" "directory_ldif = $TEST_TMP/bulk.ldif" \
	"cache_file = $TEST_TMP/cache.ldif" "mfa_dir = $TEST_TMP/mfa" \
	>"$TEST_TMP/ldif.conf"
echo "$users users; slapd size limit 500"
/usr/bin/time -f "sync from LDIF: %e s, %M KiB max RSS" \
	"$ORGAUTHCTL" --config "$TEST_TMP/ldif.conf" sync >/dev/null
for size in 100 500 5000; do
	ldap_conf "$TEST_TMP/ldap.conf" "ldap_page_size = $size"
	/usr/bin/time -f "sync from LDAP, StartTLS, pages of $size: %e s, %M KiB max RSS" \
		"$ORGAUTHCTL" --config "$TEST_TMP/ldap.conf" sync >/dev/null
done
