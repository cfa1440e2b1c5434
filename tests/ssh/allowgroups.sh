#!/bin/sh
# Gatekeeping by NSS alone: sshd's `AllowGroups acme-admin`, with public
# keys and an account stack that does not use pam_orgauth, admits acme's
# admin and refuses a member, because the organisation role groups come
# from libnss_orgauth.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/ssh/harness.sh"
[ "$(id -u)" = 0 ] || skip "needs root (private mount namespace)"
sshh_init "$TEST_TMP/h" || broken "harness folder"
add_cleanup sshh_stop
[ -n "$SSHH_NSS_MODULE" ] || skip "libnss_orgauth.so.2 not built"
sshh_sample_org || broken "examples/orgauth.conf or directory.ldif missing"
for u in alice bob; do
	sshh_user_key $u
done
# No PAM auth runs for a publickey-only login; pam_deny proves it.
sshh_pam_service <<PAM
auth     required pam_deny.so
account  required pam_unix.so
$(sshh_pam_session)
PAM
sshh_ns_start || broken "namespace"
sshh_octl sync >"$TEST_TMP/sync.out" 2>&1 || fail "sync: $(cat "$TEST_TMP/sync.out")"
sshh_sshd_start "AllowGroups acme-admin
AuthenticationMethods publickey" || broken "sshd"
transcript() { cat "$SSHH_TRANSCRIPT"; }

sshh_login alice alice key=alice -- id || fail "alice refused: $(transcript)"
expect_contains "alice's id" "(acme-admin)" "$(transcript)"

if sshh_login bob bob key=bob -- id; then
	fail "bob got in: $(transcript)"
fi
case "$(transcript)" in *uid=*) fail "bob: a session ran" ;; esac
grep -q "User bob from 127.0.0.1 not allowed because none of user's groups are listed in AllowGroups" \
	"$SSHH_DIR/sshd.log" || fail "sshd did not refuse bob by group: $(cat "$SSHH_DIR/sshd.log")"
reports=$(sshh_sanitizer_reports)
[ -z "$reports" ] || fail "sanitizer reports in sshd's log: $reports"
exit 0
