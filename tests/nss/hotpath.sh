#!/bin/sh
# The hot path makes no system call: 100,000 lookups through glibc open
# the cache once and make no more system calls than 50 lookups do (glibc's
# own checks of nsswitch.conf and probes of nscd aside).  A cache marked
# superseded but not yet renamed over is looked at again now and then,
# not at every lookup.  As root in a private mount namespace with
# "passwd: orgauth" only (files would read /etc/passwd at each call).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nss/nss-lib.sh"

command -v strace >/dev/null 2>&1 || skip "strace is not installed"
case " $(nss_modes) " in
*" ns "*) ;;
*) skip "needs root and unshare -m" ;;
esac
[ "${ORGAUTH_SANITIZERS:-no}" = yes ] &&
	skip "the sanitizer runtime makes system calls of its own"
printf 'passwd: orgauth\ngroup: orgauth\n' >"$TEST_TMP/nsswitch.conf"
CACHE=$TEST_TMP/cache
printf 'directory_ldif = %s\ncache_file = %s\n' \
	"$top_srcdir/examples/directory.ldif" "$CACHE" >"$TEST_TMP/orgauth.conf"
"$ORGAUTHCTL" --config "$TEST_TMP/orgauth.conf" sync >/dev/null ||
	fail "sync"

# traced N: the system calls of N rounds of 5 lookups, one per line
traced() {
	in_mode ns "$CACHE" strace -f -o "$TEST_TMP/trace.$1" "$LOOKUP" loop \
		"$1" pw:walt gr:acme-admin uid:10001 gid:2051039670 gl:walt \
		>"$TEST_TMP/out.$1" || fail "loop $1: $(cat "$TEST_TMP/out.$1")"
}
ours() {
	grep -v -e nsswitch.conf -e /nscd/ -e '^[0-9]* *close(' \
		-e '^[0-9]* *socket(AF_UNIX' "$TEST_TMP/trace.$1" | wc -l
}
opens() {
	grep -c "open.*\"$CACHE\"" "$TEST_TMP/trace.$1" || :
}

traced 10
traced 20000
expect_contains "answers" "walt:*:10005:100:" "$(cat "$TEST_TMP/out.20000")"
expect_eq "opens of the cache, 50 lookups" 1 "$(opens 10)"
expect_eq "opens of the cache, 100000 lookups" 1 "$(opens 20000)"
small=$(ours 10)
large=$(ours 20000)
[ $((large - small)) -lt 20 ] ||
	fail "system calls grow with lookups: $small for 50, $large for 100000"

# marked superseded in place (the flags word at offset 16) and never
# renamed over: the same file stays in use, looked at again at most every
# 200 ms
printf '\001' | dd of="$CACHE" bs=1 seek=16 conv=notrunc 2>/dev/null
traced 20000
n=$(opens 20000)
[ "$n" -ge 2 ] || fail "the superseded mark was not noticed ($n opens)"
[ "$n" -lt 200 ] || fail "$n opens of a superseded cache for 100000 lookups"
echo "superseded in place: $n opens for 100000 lookups"
exit 0
