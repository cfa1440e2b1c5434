#!/bin/sh
# The Workforce rule through a real sshd: walt (labelforce, annotator on
# acme's project apollo) logs in to the acme host with MFA and holds
# acme-workforce; once the directory no longer has him on apollo (and sync
# ran) he is refused at the account stage with a message.  gary (globex,
# no role in acme) is refused, and the log says why.
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
for u in walt gary will; do
	sshh_user_key $u
done
sshh_pam_key_then_code | sshh_pam_service
sshh_ns_start || broken "namespace"
sshh_octl sync >"$TEST_TMP/sync.out" 2>&1 || fail "sync: $(cat "$TEST_TMP/sync.out")"
sshh_sshd_start "AuthenticationMethods publickey,keyboard-interactive" ||
	broken "sshd"
transcript() { cat "$SSHH_TRANSCRIPT"; }
syslog() { cat "$SSHH_DIR/syslog.log"; }

# walt: acme requires MFA of everyone with a role in it, workforce too,
# so his first login enrols him.
sshh_login walt walt key=walt -- id || fail "walt's login: $(transcript)"
expect_contains "walt's enrolment" "otpauth://" "$(transcript)"
expect_contains "walt's id" "(walt)" "$(transcript)"
expect_contains "walt's id" "(acme-workforce)" "$(transcript)"
walt_secret=$(cat "$SSHH_TRANSCRIPT.secret")
sshh_log_has 'op=account.*user="walt".*outcome=success' ||
	fail "walt's account decision not logged: $(syslog)"

# gary holds no role in acme: refused, with the reason in the log.
if sshh_login gary gary key=gary -- id; then
	fail "gary got in: $(transcript)"
fi
case "$(transcript)" in *uid=*) fail "gary: a session ran" ;; esac
sshh_log_has 'user="gary".*outcome=failure.*reason=no-role-in-host-organisation' ||
	fail "gary's refusal not logged with its reason: $(syslog)"
grep -q 'Failed keyboard-interactive/pam for gary\|PAM: .* gary\|Access denied for user gary\|for gary' \
	"$SSHH_DIR/sshd.log" || fail "sshd did not log gary's refusal"

# will is labelforce too, but on no acme project: no role, refused.
if sshh_login will will key=will -- id; then
	fail "will got in: $(transcript)"
fi
sshh_log_has 'user="will".*outcome=failure.*reason=no-role-in-host-organisation' ||
	fail "will's refusal not logged: $(syslog)"

# Take walt off apollo in a copy of the directory and sync again.
ldif="$SSHH_DIR/etc-orgauth/directory.ldif"
awk 'BEGIN { RS = ""; ORS = "\n\n" }
	$0 ~ /^dn: [^\n]*apollo/ {
		n = split($0, l, "\n"); out = ""
		for (i = 1; i <= n; i++)
			if (l[i] !~ /walt/)
				out = out l[i] "\n"
		sub(/\n$/, "", out); print out; next
	}
	{ print }' "$ldif" >"$ldif.new" || broken "awk"
grep -q walt "$ldif.new" || broken "walt vanished from the directory"
cmp -s "$ldif" "$ldif.new" && broken "walt's apollo membership not found"
mv "$ldif.new" "$ldif"
sshh_octl sync >"$TEST_TMP/sync.out" 2>&1 || fail "sync: $(cat "$TEST_TMP/sync.out")"
out=$(sshh_foreign id walt) || fail "walt left the directory: $out"
case "$out" in *acme-workforce*) fail "walt still in acme-workforce: $out" ;; esac

# He is still enrolled, so he passes the second factor; the account stage
# refuses him and tells him why.
if sshh_login walt-removed walt key=walt secret="$walt_secret" step=1 -- id; then
	fail "walt got in without his apollo membership: $(transcript)"
fi
case "$(transcript)" in *uid=*) fail "walt: a session ran" ;; esac
expect_contains "the account stage's message" "Access denied" "$(transcript)"
expect_contains "the account stage's message" "acme" "$(transcript)"
sshh_log_has 'op=account.*user="walt".*outcome=failure.*reason=no-role-in-host-organisation' ||
	fail "walt's refusal not logged at the account stage: $(syslog)"
reports=$(sshh_sanitizer_reports)
[ -z "$reports" ] || fail "sanitizer reports in sshd's log: $reports"
exit 0
