#!/bin/sh
# A damaged cache: every truncation of a small valid cache and random bit
# flips, each read by a fresh process through glibc; every answer is the
# right one or "not found" (UNAVAIL), never garbage, never a crash.  In
# the sanitizer build the driver and the module run under ASan/UBSan.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nss/nss-lib.sh"

{
	rec org acme 0 1
	rec org apollo 1 0
	rec user alice 10001 10001 "Alice A" /home/alice /bin/bash
	rec user walt 10003 10003 "Walt W" /home/walt /bin/bash
	rec group acme-admin 2000000001 role acme alice
	rec group acme-workforce 2000000002 role acme walt
	rec group acme-proj-rocket 2000000003 project acme alice,walt
	rec role alice acme admin
	rec role walt acme workforce
} | "$MKCACHE" "$TEST_TMP/cache" || broken "mkcache"

# Under valgrind, where each child costs a good part of a second, one way
# only, every 16th offset and fewer flips: the plain and the sanitizer
# runs cover every offset, both ways.
flips=2000
stride=1
modes=$(nss_modes)
if [ "${ORGAUTH_VALGRIND:-0}" = 1 ]; then
	flips=50
	stride=16
	modes=${modes##* }
fi
seed=${ORGAUTH_SEED:-$(date +%s)}
echo "seed $seed (ORGAUTH_SEED=$seed to repeat)"
mkdir -p "$TEST_TMP/work"
for mode in $modes; do
	echo "== $mode"
	in_mode $mode "$TEST_TMP/cache" $(our_prefix) "$LOOKUP" damage \
		"$TEST_TMP/cache" "$TEST_TMP/work" $stride $flips "$seed" \
		pw:walt pw:alice uid:10001 uid:10003 gr:acme-proj-rocket \
		gr:acme-admin gid:2000000002 gid:2000000003 gl:walt gl:alice \
		pw:nobody || fail "$mode: wrong answers from a damaged cache"
done
