#!/bin/sh
# Every man page of doc/ renders without a warning from man/groff.
. "$top_srcdir/tests/lib.sh"

command -v man >/dev/null 2>&1 || skip "man is not installed"
n=0
for page in "$top_srcdir"/doc/*.[1-8]; do
	[ -e "$page" ] || continue
	LC_ALL=C MANWIDTH=80 man --warnings -l "$page" >"$TEST_TMP/out" \
		2>"$TEST_TMP/err" || fail "$page: man exits $?"
	[ -s "$TEST_TMP/err" ] && fail "$page: $(cat "$TEST_TMP/err")"
	[ -s "$TEST_TMP/out" ] || fail "$page: renders nothing"
	n=$((n + 1))
done
[ "$n" -ge 2 ] || broken "no man pages found in $top_srcdir/doc"
exit 0
