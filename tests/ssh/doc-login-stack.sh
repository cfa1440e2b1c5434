#!/bin/sh
# doc/deploying.md's console `login` stack, through the real libpam
# (pamtester) in the harness's namespace: root on a local terminal is
# exempt from pam_orgauth, so a broken orgauth (here: no cache yet) does
# not lock root out of the console, while it still refuses everyone else,
# and root over ssh is not exempt by that line.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/ssh/harness.sh"
[ "$(id -u)" = 0 ] || skip "needs root (private mount namespace)"
command -v pamtester >/dev/null || skip "pamtester not installed"
sshh_init "$TEST_TMP/h" || broken "harness folder"
add_cleanup sshh_stop
sshh_have_modules || skip "pam_orgauth.so or libnss_orgauth.so.2 not built"
sshh_sample_org || broken "examples/orgauth.conf or directory.ldif missing"
# The doc's lines, with pam_permit standing in for common-auth and
# common-account (the test knows no Unix passwords).
cat >"$SSHH_DIR/pam.d/login" <<PAM
auth     required  pam_permit.so
auth     [success=1 default=ignore]  pam_succeed_if.so quiet uid eq 0 tty =~ *tty*
auth     required  $SSHH_PAM_MODULE
account  required  pam_permit.so
account  [success=1 default=ignore]  pam_succeed_if.so quiet uid eq 0 tty =~ *tty*
account  required  $SSHH_PAM_MODULE
PAM
sshh_ns_start || broken "namespace"
# No `orgauthctl sync`: pam_orgauth has no cache and fails closed.

pt() { sshh_foreign pamtester -I "tty=$2" login "$1" authenticate acct_mgmt \
	</dev/null >"$TEST_TMP/pt.out" 2>&1; }
pt root tty1 || fail "root on tty1 was not exempt: $(cat "$TEST_TMP/pt.out")"
pt root /dev/tty2 || fail "root on /dev/tty2 was not exempt: $(cat "$TEST_TMP/pt.out")"
if pt root ssh; then
	fail "root over ssh passed a broken pam_orgauth"
fi
if pt alice tty1; then
	fail "alice passed a broken pam_orgauth"
fi
sshh_log_has 'orgauth\(pam\).*outcome=failure' ||
	fail "the failure was not logged: $(cat "$SSHH_DIR/syslog.log")"
exit 0
