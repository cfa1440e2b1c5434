#!/bin/sh
# AuthenticationMethods publickey,keyboard-interactive on an acme host
# (acme requires MFA): a key and a code from the app get a shell; the
# first login of an unenrolled member enrols through the keyboard-
# interactive dialogue; a replayed, a wrong code, and a locked second
# factor are refused.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/ssh/harness.sh"
[ "$(id -u)" = 0 ] || skip "needs root (private mount namespace)"
sshh_init "$TEST_TMP/h" || broken "harness folder"
add_cleanup sshh_stop
sshh_have_modules || skip "pam_orgauth.so or libnss_orgauth.so.2 not built"
sshh_sample_org || broken "examples/orgauth.conf or directory.ldif missing"
sshh_conf_set otp_window 3
# Each recovery code costs an Argon2id hash at enrolment: one is enough.
sshh_conf_set recovery_codes 1
sshh_conf_set lockout_failures 3
sshh_conf_set lockout_window 600
sshh_conf_set lockout_duration 600
for u in alice bob carol; do
	sshh_user_key $u
done
sshh_pam_key_then_code | sshh_pam_service
sshh_ns_start || broken "namespace"
sshh_octl sync >"$TEST_TMP/sync.out" 2>&1 || fail "sync: $(cat "$TEST_TMP/sync.out")"
sshh_sshd_start "AuthenticationMethods publickey,keyboard-interactive" ||
	broken "sshd"

transcript() { cat "$SSHH_TRANSCRIPT"; }
# secret_of TEXT: the base32 secret of the otpauth:// URI in TEXT.
secret_of() {
	printf '%s\n' "$1" | sed -n 's/.*otpauth:[^ ]*[?&]secret=\([A-Za-z2-7=]*\).*/\1/p' |
		head -n 1
}

# alice, enrolled beforehand by an administrator.
out=$(sshh_octl mfa enroll alice) || fail "mfa enroll alice: $out"
alice_secret=$(secret_of "$out")
[ -n "$alice_secret" ] || fail "no otpauth URI in: $out"
sshh_login alice alice key=alice secret="$alice_secret" -- id ||
	fail "alice with key and code: $(transcript)"
expect_contains "alice's id" "(alice)" "$(transcript)"
expect_contains "alice's id" "(acme-admin)" "$(transcript)"
expect_eq "alice's code prompts" 1 "$(sshh_count code)"
case "$(transcript)" in *otpauth://*) fail "alice was shown an enrolment" ;; esac
sshh_log_has 'user="alice".*outcome=success' ||
	fail "no success logged for alice: $(cat "$SSHH_DIR/syslog.log")"

# The code alone is not enough: the key comes first.
if sshh_login alice-nokey alice secret="$alice_secret" step=1 -- id; then
	fail "alice got in without her key: $(transcript)"
fi

# bob's first login: the dialogue shows the otpauth:// URI, the driver
# answers with a code computed from the secret in it.
sshh_login bob-enrol bob key=bob -- id ||
	fail "bob's enrolment login: $(transcript)"
expect_contains "bob's enrolment dialogue" "otpauth://" "$(transcript)"
expect_contains "bob's id" "(bob)" "$(transcript)"
expect_contains "bob's id" "(acme-member)" "$(transcript)"
bob_secret=$(cat "$SSHH_TRANSCRIPT.secret") || fail "no secret parsed"
[ -n "$bob_secret" ] || fail "empty secret parsed"

# bob's next login asks only for a code.
sshh_login bob-next bob key=bob secret="$bob_secret" step=1 -- id ||
	fail "bob's second login: $(transcript)"
expect_contains "bob's id" "(acme-member)" "$(transcript)"
expect_eq "bob's second login: code prompts" 1 "$(sshh_count code)"
case "$(transcript)" in *otpauth://*) fail "bob was asked to enrol again" ;; esac
used=$(sshh_typed)
[ -n "$used" ] || broken "no code recorded in the transcript"

# The same code again (a replay) is refused.
if sshh_login bob-replay bob key=bob codes="$used" -- id; then
	fail "a replayed code was accepted: $(transcript)"
fi
case "$(transcript)" in *uid=*) fail "replay: a session ran" ;; esac
sshh_log_has 'user="bob".*outcome=failure.*reason=replayed' ||
	fail "replay not logged as such: $(cat "$SSHH_DIR/syslog.log")"

# A wrong code (the current one with its last digit changed) is refused.
wrong=$(sshh_wrong_code "$bob_secret")
if sshh_login bob-wrong bob key=bob codes="$wrong" -- id; then
	fail "a wrong code was accepted: $(transcript)"
fi
sshh_log_has 'user="bob".*outcome=failure.*reason=rejected' ||
	fail "wrong code not logged as rejected: $(cat "$SSHH_DIR/syslog.log")"

# carol enrols, then three wrong codes lock her second factor: a right
# code is then refused too, with a message saying so, until an
# administrator unlocks it.
sshh_login carol-enrol carol key=carol -- id ||
	fail "carol's enrolment login: $(transcript)"
carol_secret=$(cat "$SSHH_TRANSCRIPT.secret")
for i in 1 2 3; do
	if sshh_login "carol-wrong-$i" carol key=carol \
		codes="$(sshh_wrong_code "$carol_secret")" -- id; then
		fail "carol got in with a wrong code"
	fi
done
if sshh_login carol-locked carol key=carol secret="$carol_secret" step=1 -- id; then
	fail "a locked second factor let carol in: $(transcript)"
fi
expect_contains "the lockout message" "locked" "$(transcript)"
sshh_log_has 'user="carol".*outcome=failure.*reason=locked' ||
	fail "lockout not logged: $(cat "$SSHH_DIR/syslog.log")"
sshh_octl mfa unlock carol >/dev/null || fail "mfa unlock carol"
sshh_login carol-unlocked carol key=carol secret="$carol_secret" step=2 -- id ||
	fail "carol after unlock: $(transcript)"

# Codes and secrets never reach the log.
sshh_log_sync || broken "the syslog sink did not answer"
for s in "$alice_secret" "$bob_secret" "$carol_secret"; do
	grep -q -- "$s" "$SSHH_DIR/syslog.log" "$SSHH_DIR/sshd.log" &&
		fail "a secret was logged"
done
grep -qw -- "$used" "$SSHH_DIR/syslog.log" "$SSHH_DIR/sshd.log" &&
	fail "a code was logged"
reports=$(sshh_sanitizer_reports)
[ -z "$reports" ] || fail "sanitizer reports in sshd's log: $reports"
exit 0
