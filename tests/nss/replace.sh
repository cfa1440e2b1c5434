#!/bin/sh
# A reader looping on lookups through glibc while sync replaces the cache
# 1000 times, alternating between two directories that differ in walt's
# membership of acme's project apollo: every answer is the whole answer of
# one directory or the other, and the reader sees both.  The reader is
# three threads, and (in the plain build) a child forked every 10 ms that
# looks up once more: the module across fork.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nss/nss-lib.sh"

N=${ORGAUTH_REPLACEMENTS:-1000}
CACHE=$TEST_TMP/cache
cp "$top_srcdir/examples/directory.ldif" "$TEST_TMP/a.ldif"
grep -v '^orgauthAnnotator: uid=walt,' "$top_srcdir/examples/directory.ldif" \
	>"$TEST_TMP/b.ldif"
for x in a b; do
	printf 'directory_ldif = %s\ncache_file = %s\n' "$TEST_TMP/$x.ldif" \
		"$CACHE" >"$TEST_TMP/$x.conf"
done

set -- pw:walt gr:acme-workforce gr:acme-proj-apollo gl:walt gl:wendy \
	pw:alice
modes=$(nss_modes)
case " $modes " in
*" ns "*) mode=ns ;;
*) mode=wrapper ;;
esac
for x in b a; do
	octl --config "$TEST_TMP/$x.conf" sync >/dev/null || fail "sync $x"
	in_mode $mode "$CACHE" "$LOOKUP" show "$@" >"$TEST_TMP/$x.ref" ||
		broken "show"
done
cmp -s "$TEST_TMP/a.ref" "$TEST_TMP/b.ref" && broken "a and b look alike"
grep -q '^-$' "$TEST_TMP/a.ref" && broken "a has unanswered queries"

# The forked children only in the plain build: ASan's allocator can be
# inherited locked by another thread (a hang in the child that is not
# ours), and valgrind counts the other threads' memory as lost in it.
if [ "${ORGAUTH_VALGRIND:-0}" = 1 ] || [ "${ORGAUTH_SANITIZERS:-no}" = yes ]
then
	NSS_LOOKUP_NO_FORK=1
	export NSS_LOOKUP_NO_FORK
fi

STOP=$TEST_TMP/stop
in_mode $mode "$CACHE" timeout 600 $(our_prefix) "$LOOKUP" watch \
	"$TEST_TMP/a.ref" "$TEST_TMP/b.ref" "$STOP" "$@" >"$TEST_TMP/watch" &
reader=$!
add_cleanup "touch $STOP; wait $reader 2>/dev/null"
n=0
while [ ! -e "$STOP.started" ]; do
	n=$((n + 1))
	[ $n -lt 3000 ] || broken "the reader did not start"
	sleep 0.01
done

# sync itself runs plainly here even under valgrind: the reader is what
# this test is about, and 1000 valgrind runs would take too long
i=0
while [ $i -lt "$N" ]; do
	if [ $((i % 2)) = 0 ]; then x=b; else x=a; fi
	"$ORGAUTHCTL" --config "$TEST_TMP/$x.conf" sync >/dev/null ||
		fail "sync $i"
	i=$((i + 1))
done
touch "$STOP"
rc=0
wait $reader || rc=$?
out=$(cat "$TEST_TMP/watch")
echo "$out"
expect_eq "reader exit status" 0 $rc
a=$(echo "$out" | sed -n 's/.* a=\([0-9]*\) .*/\1/p')
b=$(echo "$out" | sed -n 's/.* b=\([0-9]*\) .*/\1/p')
[ "${a:-0}" -gt 0 ] && [ "${b:-0}" -gt 0 ] ||
	fail "the reader did not see both caches: $out"
exit 0
