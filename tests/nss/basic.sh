#!/bin/sh
# libnss_orgauth.so.2 through glibc: passwd and group by name, by id and
# enumerated, initgroups, id, getgrouplist; unknown and invalid names; a
# short buffer; what the library links and exports; a missing cache.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nss/nss-lib.sh"

# Exports and links: libc only, _nss_orgauth_* only.
needed=$(readelf -d "$NSS_MODULE" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
	grep -v -e '^libasan' -e '^libubsan' | tr '\n' ' ')
expect_eq "NEEDED" "libc.so.6 " "$needed"
exported=$(nm -D --defined-only "$NSS_MODULE" | awk '{ print $3 }' | sort)
bad=$(echo "$exported" | grep -v '^_nss_orgauth_' || :)
expect_eq "symbols other than _nss_orgauth_*" "" "$bad"
for f in getpwnam_r getpwuid_r setpwent getpwent_r endpwent getgrnam_r \
	getgrgid_r setgrent getgrent_r endgrent initgroups_dyn; do
	expect_contains "exported symbols" "_nss_orgauth_$f" "$exported"
done

{
	rec org acme 0 1
	rec org apollo 1 0
	rec user alice 10001 10001 "Alice A" /home/alice /bin/bash
	rec user bob 10002 10002 "" /home/bob /bin/sh
	rec user walt 10003 10003 "Walt W" /home/walt /bin/bash
	rec group acme-admin auto role acme alice
	rec group acme-member auto role acme bob
	rec group acme-workforce auto role acme walt
	rec group acme-proj-rocket auto project acme bob,walt
	rec group acme-data-empty auto dataset acme ""
	rec group apollo-admin auto role apollo walt
	rec role alice acme admin
	rec role bob acme member
	rec role walt acme workforce
	rec role walt apollo admin
} | "$MKCACHE" "$TEST_TMP/cache" || broken "mkcache"
CACHE=$TEST_TMP/cache

# Leaves out the lines that the files source gives (the host's files in
# the namespace, the test's under nss_wrapper).
not_files() {
	if [ "$mode" = ns ]; then
		grep -v -x -F -f "/etc/$1"
	else
		grep -v -x -F -f "$TEST_TMP/$1"
	fi
}

gid_of() {
	in_mode "$mode" "$CACHE" getent group "$1" | cut -d: -f3
}

for mode in $(nss_modes); do
	echo "== $mode"
	out=$(in_mode $mode "$CACHE" getent passwd walt)
	expect_eq "$mode passwd walt" \
		"walt:*:10003:10003:Walt W:/home/walt:/bin/bash" "$out"
	out=$(in_mode $mode "$CACHE" getent passwd 10002)
	expect_eq "$mode passwd 10002" "bob:*:10002:10002::/home/bob:/bin/sh" \
		"$out"
	out=$(in_mode $mode "$CACHE" getent passwd | not_files passwd)
	expect_eq "$mode passwd enumeration" \
"alice:*:10001:10001:Alice A:/home/alice:/bin/bash
bob:*:10002:10002::/home/bob:/bin/sh
walt:*:10003:10003:Walt W:/home/walt:/bin/bash" "$out"

	rocket=$(gid_of acme-proj-rocket)
	wf=$(gid_of acme-workforce)
	admin=$(gid_of apollo-admin)
	[ "$rocket" -ge 2000000000 ] && [ "$rocket" -le 2099999999 ] ||
		fail "$mode: gid $rocket outside the default range"
	out=$(in_mode $mode "$CACHE" getent group acme-proj-rocket)
	expect_eq "$mode group by name" "acme-proj-rocket:*:$rocket:bob,walt" \
		"$out"
	out=$(in_mode $mode "$CACHE" getent group "$wf")
	expect_eq "$mode group by gid" "acme-workforce:*:$wf:walt" "$out"
	out=$(in_mode $mode "$CACHE" getent group acme-data-empty)
	expect_contains "$mode empty group" "acme-data-empty:*:" "$out"
	out=$(in_mode $mode "$CACHE" getent group | not_files group |
		cut -d: -f1 | tr '\n' ' ')
	expect_eq "$mode group enumeration" "acme-admin acme-member \
acme-workforce acme-proj-rocket acme-data-empty apollo-admin " "$out"

	out=$(in_mode $mode "$CACHE" getent initgroups walt)
	set -- $out
	shift
	expect_eq "$mode initgroups walt" "$(printf '%s\n' $wf $rocket $admin |
		sort | tr '\n' ' ')" "$(printf '%s\n' "$@" | sort | tr '\n' ' ')"
	out=$(in_mode $mode "$CACHE" id walt)
	expect_contains "$mode id walt" "uid=10003(walt) gid=10003" "$out"
	expect_contains "$mode id walt" "$wf(acme-workforce)" "$out"
	expect_contains "$mode id walt" "$rocket(acme-proj-rocket)" "$out"
	expect_contains "$mode id walt" "$admin(apollo-admin)" "$out"
	out=$(in_mode $mode "$CACHE" $(our_prefix) "$LOOKUP" show gl:walt \
		gl:alice gl:nobody)
	expect_eq "$mode getgrouplist" "$(printf '%s\n' $wf $rocket $admin |
		sort -n | tr '\n' ',' | sed 's/,$//')
$(gid_of acme-admin)
-" "$out"

	# unknown, invalid and oversized names are not found (exit 2)
	long=$(printf '%0300d' 0 | tr 0 a)
	for name in mallory "" "bad:name" "$long" "walt "; do
		rc=0
		in_mode $mode "$CACHE" getent passwd "$name" >/dev/null || rc=$?
		expect_eq "$mode passwd [$name]" 2 $rc
		rc=0
		in_mode $mode "$CACHE" getent group "$name" >/dev/null || rc=$?
		expect_eq "$mode group [$name]" 2 $rc
	done
	rc=0
	in_mode $mode "$CACHE" getent passwd 4000000 >/dev/null || rc=$?
	expect_eq "$mode unknown uid" 2 $rc

	# a missing cache: nothing from us, the files still answer
	rc=0
	in_mode $mode "$TEST_TMP/none" getent passwd walt >/dev/null || rc=$?
	expect_eq "$mode no cache" 2 $rc
	out=$(in_mode $mode "$TEST_TMP/none" getent passwd root)
	expect_contains "$mode no cache, files" "root:x:0:0" "$out"
done

# The path from the configuration (ORGAUTH_CONFIG) instead of
# ORGAUTH_CACHE; an unusable configuration makes the module unavailable.
printf 'cache_file = %s\n' "$CACHE" >"$TEST_TMP/orgauth.conf"
printf 'cache_file = relative\n' >"$TEST_TMP/bad.conf"
for mode in $(nss_modes); do
	out=$(in_mode $mode "" env -u ORGAUTH_CACHE \
		ORGAUTH_CONFIG="$TEST_TMP/orgauth.conf" getent passwd walt)
	expect_eq "$mode cache_file of ORGAUTH_CONFIG" \
		"walt:*:10003:10003:Walt W:/home/walt:/bin/bash" "$out"
	rc=0
	in_mode $mode "" env -u ORGAUTH_CACHE \
		ORGAUTH_CONFIG="$TEST_TMP/bad.conf" getent passwd walt \
		>/dev/null || rc=$?
	expect_eq "$mode invalid configuration" 2 $rc
done

case " $(nss_modes) " in
*" ns "*)
	# glibc's own path: the module found on LD_LIBRARY_PATH, short
	# buffers answered with ERANGE, and getgrnam's retry
	out=$(LD_DEBUG=libs in_mode ns "$CACHE" getent passwd walt 2>&1)
	expect_contains "module loaded from the build" \
		"trying file=$NSS_MODULE_DIR/libnss_orgauth.so.2" "$out"
	out=$(in_mode ns "$CACHE" $(our_prefix) "$LOOKUP" erange walt \
		acme-proj-rocket) || fail "ERANGE handling: $out"
	expect_eq "getgrnam after ERANGE" "acme-proj-rocket 2 members" "$out"

	# a missing or damaged cache: UNAVAIL and one log line however many
	# lookups fail
	NSS_SYSLOG=$TEST_TMP/syslog
	mkdir -p "$NSS_SYSLOG"
	in_mode ns "$TEST_TMP/none" sh -c \
		'getent passwd walt; getent group acme-admin; exit 0' >/dev/null
	lines=$(grep -c 'orgauth(nss): event=cache_unavailable' \
		"$NSS_SYSLOG/syslog.log" || :)
	expect_eq "log lines for a missing cache (one per process)" 2 "$lines"
	expect_contains "log line" "reason=\"no cache file\"" \
		"$(cat "$NSS_SYSLOG/syslog.log")"
	head -c 100 "$CACHE" >"$TEST_TMP/short"
	in_mode ns "$TEST_TMP/short" $(our_prefix) "$LOOKUP" show pw:walt \
		pw:alice gr:acme-admin >"$TEST_TMP/out"
	expect_eq "damaged cache answers" "-
-
-" "$(cat "$TEST_TMP/out")"
	lines=$(grep -c 'reason="not a cache file' "$NSS_SYSLOG/syslog.log" ||
		:)
	expect_eq "one log line for three failed lookups" 1 "$lines"
	;;
esac
exit 0
