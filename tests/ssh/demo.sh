#!/bin/sh
# The README's main job, examples/demo, on this build (no install, no
# rebuild): it must tell its story step by step, succeed, stop all it
# started and leave the machine's login configuration as it was.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/ssh/harness.sh"
[ "$(id -u)" = 0 ] || skip "needs root (private mount namespace)"
SSHH_PAM_MODULE=$(sshh_find_built pam_orgauth.so)
SSHH_NSS_MODULE=$(sshh_find_built libnss_orgauth.so.2)
sshh_have_modules || skip "pam_orgauth.so or libnss_orgauth.so.2 not built"

# The demo's folder is inside this test's: sshd reads the authorized keys
# as the user, through both.
chmod 0711 "$TEST_TMP"
before=$(sshh_host_state)
rc=0
TMPDIR=$TEST_TMP sh "$top_srcdir/examples/demo" --no-install \
	--builddir "$top_builddir" >"$TEST_TMP/demo.out" 2>&1 || rc=$?
out=$(cat "$TEST_TMP/demo.out")
[ $rc -eq 0 ] || fail "the demo failed ($rc): $out"
expect_contains "the sync step" "orgauthctl sync" "$out"
expect_contains "bob's enrolment" "otpauth://" "$out"
expect_contains "the code typed" "[typed: " "$out"
expect_contains "walt's id" "(acme-workforce)" "$out"
expect_contains "gary's refusal" "gary (globex, no role in acme) is refused" "$out"
expect_contains "the verdict" "steps as expected, 0 not" "$out"
case "$out" in *"NOT as expected"*) fail "a step failed: $out" ;; esac

# Nothing it started is left, and the machine is as it was.
left=$(pgrep -f "$TEST_TMP" || true)
[ -z "$left" ] || fail "the demo left processes behind: $left"
after=$(sshh_host_state)
expect_eq "the machine's login configuration" "$before" "$after"
exit 0
