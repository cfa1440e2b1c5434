#!/bin/sh
# orgauthctl check, user and org on examples/directory.ldif: the output is
# compared whole with the expected files, and the exit statuses are 0.
. "$top_srcdir/tests/lib.sh"

exp="$top_srcdir/tests/expected"
conf="$TEST_TMP/orgauth.conf"
cat >"$conf" <<EOC
directory_ldif = $top_srcdir/examples/directory.ldif
host_organisation = acme
EOC

# compare NAME COMMAND...: stdout must equal $exp/NAME, stderr be empty
compare() {
	name=$1
	shift
	rc=0
	octl --config "$conf" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
	[ "$rc" = 0 ] || fail "$*: exit $rc: $(cat "$TEST_TMP/err")"
	[ -s "$TEST_TMP/err" ] && fail "$*: stderr: $(cat "$TEST_TMP/err")"
	diff -u "$exp/$name" "$TEST_TMP/out" || fail "$*: output differs"
}

for u in alice bob carol wanda walt wendy will gina gary oscar; do
	compare "user-$u.out" user "$u"
done
for o in acme labelforce globex; do
	compare "org-$o.out" org "$o"
done

rc=0
octl --config "$conf" check >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
expect_eq "check exit" 0 "$rc"
expect_eq "check output" "$conf: ok
$top_srcdir/examples/directory.ldif: ok: 3 organisations, 10 users, 4 projects, 1 dataset" "$(cat "$TEST_TMP/out")"
exit 0
