#!/bin/sh
# The sshd harness on its own, with stand-ins for our modules: users from
# the namespace's private /etc/passwd, a password from pam_matrix.  It
# shows that a real login works through the harness, that a wrong answer
# is refused, that syslog lines are caught, and that the machine's login
# configuration is the same afterwards and no sshd of ours is left.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/ssh/harness.sh"
[ "$(id -u)" = 0 ] || skip "needs root (private mount namespace)"
[ -n "$SSHH_PAM_MATRIX" ] || skip "pam_matrix.so (libpam-wrapper) not installed"

before=$(sshh_host_state)
sshh_init "$TEST_TMP/h" || broken "harness folder"
add_cleanup sshh_stop
echo 'tuser:x:4242:4242:Test:/home/tuser:/bin/sh' >"$SSHH_DIR/passwd.extra"
echo 'tgroup:x:4243:tuser' >"$SSHH_DIR/group.extra"
echo 'tgroup0:x:4242:' >>"$SSHH_DIR/group.extra"
echo 'tuser:s3cret:sshd' >"$SSHH_DIR/passdb"
sshh_user_key tuser
sshh_pam_service <<PAM
auth required $SSHH_PAM_MATRIX passdb=$SSHH_DIR/passdb
auth optional pam_warn.so
account required pam_permit.so
$(sshh_pam_session)
PAM
sshh_ns_start || broken "namespace"
sshh_sshd_start "AuthenticationMethods publickey,keyboard-interactive" ||
	broken "sshd"

# Inside the namespace the stand-in user exists; outside it does not.
getent passwd tuser >/dev/null && broken "tuser exists on the host"
out=$(sshh_foreign getent passwd tuser)
expect_eq "getent in the namespace" \
	"tuser:x:4242:4242:Test:/home/tuser:/bin/sh" "$out"

sshh_login ok tuser key=tuser password=s3cret -- id ||
	fail "login with key and password: $(cat "$SSHH_TRANSCRIPT")"
out=$(cat "$SSHH_TRANSCRIPT")
expect_contains "id in the session" \
	"uid=4242(tuser) gid=4242(tgroup0) groups=4242(tgroup0),4243(tgroup)" \
	"$out"
expect_eq "password prompts" 1 "$(sshh_count password)"
[ -d "$SSHH_DIR/home/tuser" ] || fail "pam_mkhomedir made no home"
grep -q 'Accepted keyboard-interactive/pam for tuser' "$SSHH_DIR/sshd.log" ||
	fail "sshd log: $(cat "$SSHH_DIR/sshd.log")"

# In a sanitizer build the session's processes run with the ASan runtime
# (which our modules need when they are loaded into foreign programs).
if [ -n "$(foreign_preload)" ]; then
	sshh_login asan tuser key=tuser password=s3cret -- \
		grep -c libasan /proc/self/maps || fail "asan: $(cat "$SSHH_TRANSCRIPT")"
	cat "$SSHH_TRANSCRIPT"
	case "$(cat "$SSHH_TRANSCRIPT")" in
	*"
0"*) fail "no ASan runtime in the session" ;;
	esac
fi

if sshh_login wrong tuser key=tuser password=wrong -- id; then
	fail "a wrong password was accepted"
fi
expect_contains "refusal" "Permission denied" "$(cat "$SSHH_TRANSCRIPT")"

# No key: publickey is required first, the password alone is not enough.
if sshh_login nokey tuser password=s3cret -- id; then
	fail "a login without the key was accepted"
fi

# pam_warn logs through syslog: the sink caught it.
sshh_log_has "pam_warn.*user=.tuser" ||
	fail "no syslog line caught: $(cat "$SSHH_DIR/syslog.log")"

pid=$SSHH_SSHD_PID
sshh_stop
kill -0 "$pid" 2>/dev/null && fail "sshd $pid still runs"
ss -Htln "sport = :$SSHH_PORT" | grep -q . && fail "port still listened on"
after=$(sshh_host_state)
expect_eq "the machine's login configuration" "$before" "$after"
reports=$(sshh_sanitizer_reports)
[ -z "$reports" ] || fail "sanitizer reports in sshd's log: $reports"
exit 0
