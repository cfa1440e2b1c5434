#!/bin/sh
# AuthenticationMethods password,keyboard-interactive: sshd runs the PAM
# auth stack twice, once for the password method and once for
# keyboard-interactive.  With the module's ssh_after_password option the
# code is asked for once, in the second run, and never checked against the
# password.
#
# The password step is pam_matrix (from pam_wrapper), checking a password
# file in the test folder: pam_unix cannot be used, since it reads
# /etc/shadow and our users come from NSS with no shadow entry, and the
# test must not add system users.  pam_matrix does a real check, so a
# wrong password fails, which a pam_permit stand-in would not show.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/ssh/harness.sh"
[ "$(id -u)" = 0 ] || skip "needs root (private mount namespace)"
[ -n "$SSHH_PAM_MATRIX" ] || skip "pam_matrix.so (libpam-wrapper) not installed"
sshh_init "$TEST_TMP/h" || broken "harness folder"
add_cleanup sshh_stop
sshh_have_modules || skip "pam_orgauth.so or libnss_orgauth.so.2 not built"
sshh_sample_org || broken "examples/orgauth.conf or directory.ldif missing"
sshh_conf_set otp_window 3
# Each recovery code costs an Argon2id hash at enrolment: one is enough.
sshh_conf_set recovery_codes 1
printf 'alice:alice-pw:sshd\nbob:bob-pw:sshd\n' >"$SSHH_DIR/passdb"
chmod 0600 "$SSHH_DIR/passdb"
sshh_pam_service <<PAM
auth     required $SSHH_PAM_MATRIX passdb=$SSHH_DIR/passdb
auth     required $SSHH_PAM_MODULE ssh_after_password
account  required $SSHH_PAM_MODULE
$(sshh_pam_session)
PAM
sshh_ns_start || broken "namespace"
sshh_octl sync >"$TEST_TMP/sync.out" 2>&1 || fail "sync: $(cat "$TEST_TMP/sync.out")"
sshh_sshd_start "AuthenticationMethods password,keyboard-interactive
PasswordAuthentication yes" || broken "sshd"
transcript() { cat "$SSHH_TRANSCRIPT"; }

out=$(sshh_octl mfa enroll alice) || fail "mfa enroll alice: $out"
secret=$(printf '%s\n' "$out" |
	sed -n 's/.*otpauth:[^ ]*[?&]secret=\([A-Za-z2-7=]*\).*/\1/p' | head -n 1)
[ -n "$secret" ] || fail "no otpauth URI in: $out"

sshh_login alice alice password=alice-pw secret="$secret" -- id ||
	fail "alice with password and code: $(transcript)"
expect_contains "alice's id" "(acme-admin)" "$(transcript)"
expect_eq "code prompts" 1 "$(sshh_count code)"
# The password method's run did not take the password for a code.
sshh_log_has 'user="alice".*outcome=failure' &&
	fail "a failure was logged for alice: $(cat "$SSHH_DIR/syslog.log")"

# A wrong password ends it before any code is asked for.
if sshh_login alice-badpw alice password=wrong secret="$secret" step=1 -- id; then
	fail "a wrong password was accepted: $(transcript)"
fi
expect_eq "code prompts after a wrong password" 0 "$(sshh_count code)"

# The right password and a wrong code: refused.
if sshh_login alice-badcode alice password=alice-pw \
	codes="$(sshh_wrong_code "$secret")" -- id; then
	fail "a wrong code was accepted: $(transcript)"
fi
expect_eq "code prompts" 1 "$(sshh_count code)"
case "$(transcript)" in *uid=*) fail "a session ran" ;; esac

# doc/deploying.md's simpler profile: one keyboard-interactive dialogue,
# the password step first, then pam_orgauth (no option needed): each is
# asked for once.  The password step is requisite, as Debian's
# common-auth is (it ends with `requisite pam_deny.so`): a wrong password
# ends the dialogue before the code, so someone without the password
# cannot use up the user's allowance of wrong codes.
sshh_sshd_stop
sshh_pam_service <<PAM
auth     requisite $SSHH_PAM_MATRIX passdb=$SSHH_DIR/passdb
auth     required $SSHH_PAM_MODULE
account  required $SSHH_PAM_MODULE
$(sshh_pam_session)
PAM
sshh_sshd_start "AuthenticationMethods keyboard-interactive" || broken "sshd"
sshh_login alice-kbdint alice password=alice-pw secret="$secret" step=2 -- id ||
	fail "alice in one dialogue: $(transcript)"
expect_contains "alice's id" "(acme-admin)" "$(transcript)"
expect_eq "password prompts in one dialogue" 1 "$(sshh_count password)"
expect_eq "code prompts in one dialogue" 1 "$(sshh_count code)"
if sshh_login alice-kbdint-badpw alice password=wrong secret="$secret" \
	step=3 -- id; then
	fail "a wrong password was accepted in one dialogue: $(transcript)"
fi
expect_eq "code prompts after a wrong password" 0 "$(sshh_count code)"
reports=$(sshh_sanitizer_reports)
[ -z "$reports" ] || fail "sanitizer reports in sshd's log: $reports"
exit 0
