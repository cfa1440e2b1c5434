#!/bin/sh
# The shipped pam-auth-update profile, rendered by Debian's own
# pam-auth-update into a private copy of common-auth and common-account
# (--root, with a private debconf database in a private mount namespace),
# then driven with pamtester through pam_wrapper:
#   - a right password alone never logs in a user of an MFA organisation;
#   - a wrong password ends the stack before any code is asked for;
#   - right password and right code: in; right password, wrong code: out;
#   - a user of an organisation without MFA logs in with the password;
#   - the account stack refuses a user with no role in the host's org;
#   - every decision is one syslog line, and no code is in the log;
#   - orgauthctl mfa unlock leaves an audit line.
# pam_unix is replaced by pam_matrix (pam_wrapper's password-file module):
# our users have no /etc/shadow entry and the test adds no system users.
. "$top_srcdir/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (store ownership, mount namespace)"
command -v pam-auth-update >/dev/null || skip "pam-auth-update missing"
command -v pamtester >/dev/null || skip "pamtester missing"
command -v oathtool >/dev/null || skip "oathtool missing"
command -v unshare >/dev/null || skip "unshare missing"
MATRIX=/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so
WRAPPER=libpam_wrapper.so
[ -f "$MATRIX" ] || skip "pam_matrix.so (libpam-wrapper) missing"
MODULE="$top_builddir/pam_module/.libs/pam_orgauth.so"
SINK="$top_builddir/tests/ssh/syslog-sink"
[ -f "$MODULE" ] || broken "$MODULE not built"
[ -x "$SINK" ] || broken "$SINK not built"
unshare -m true 2>/dev/null || skip "no mount namespaces here"

T=$TEST_TMP
cat >"$T/orgauth.conf" <<EOF
cache_file = $T/cache
directory_ldif = $top_srcdir/examples/directory.ldif
mfa_dir = $T/mfa
host_key_file = $T/host.key
host_organisation = acme
recovery_codes = 1
EOF
octl --config "$T/orgauth.conf" sync >"$T/sync.out" 2>&1 ||
	broken "sync: $(cat "$T/sync.out")"
out=$(octl --config "$T/orgauth.conf" mfa enroll alice) ||
	fail "mfa enroll alice: $out"
key=$(printf '%s\n' "$out" | sed -n 's/^key: //p')
[ -n "$key" ] || fail "no key in: $out"

# --- render the profile -------------------------------------------------
R=$T/root
mkdir -p "$R/etc/pam.d" "$R/usr/share/pam-configs" "$R/var/lib/pam" \
	"$T/debconf"
cp -p /etc/pam.d/common-* "$R/etc/pam.d/" ||
	skip "no common-auth here"
cp -pR /var/lib/pam/. "$R/var/lib/pam/"
cp -pR /usr/share/pam-configs/. "$R/usr/share/pam-configs/"
cp "$top_srcdir/pam_module/pam-auth-update/orgauth" "$R/usr/share/pam-configs/"
cp -pR /var/cache/debconf/. "$T/debconf/"
# pam-auth-update records its choice in debconf: a private copy takes it.
unshare -m --propagation private sh -c "
	mount --bind '$T/debconf' /var/cache/debconf &&
	DEBIAN_FRONTEND=noninteractive pam-auth-update --root '$R' \
		--enable orgauth" >"$T/render.log" 2>&1 ||
	fail "pam-auth-update: $(cat "$T/render.log")"
grep -q pam_orgauth.so "$R/etc/pam.d/common-auth" ||
	fail "profile not rendered: $(cat "$R/etc/pam.d/common-auth")"

# The rendered stacks, with the test's password module and our module.
mkdir "$T/svc"
{
	grep -v '^#' "$R/etc/pam.d/common-auth"
	grep -v '^#' "$R/etc/pam.d/common-account"
} | grep . |
	sed -e "s|pam_unix.so[^\t]*$|$MATRIX passdb=$T/passdb|" \
		-e "s|pam_orgauth.so *$|$MODULE config=$T/orgauth.conf|" \
		>"$T/svc/orgauth-profile"
printf 'alice:alice-pw:orgauth-profile\nbob:bob-pw:orgauth-profile\n' \
	>"$T/passdb"
printf 'gary:gary-pw:orgauth-profile\ngina:gina-pw:orgauth-profile\nwalt:walt-pw:orgauth-profile\n' \
	>>"$T/passdb"
# pam_unix's jump must land on pam_permit, and our line must come after.
awk '$1 == "auth" { n++; if ($0 ~ /pam_orgauth/) mine = n; if ($0 ~ /pam_permit/) permit = n }
	END { exit !(mine > permit && permit > 0) }' "$T/svc/orgauth-profile" ||
	fail "the MFA line is not after pam_permit: $(cat "$T/svc/orgauth-profile")"

# --- drive it, in a namespace with our own /dev/log ---------------------
cat >"$T/inner.sh" <<'EOF'
set -eu
T=$1
mkdir -p "$T/ovl/upper" "$T/ovl/work" "$T/ovl/hostdev"
mount --rbind /dev "$T/ovl/hostdev"
mount -t overlay orgauth-test-dev \
	-o "lowerdir=$T/ovl/hostdev,upperdir=$T/ovl/upper,workdir=$T/ovl/work" /dev
"$SINK" /dev/log "$T/syslog.log" "$T/sink.ready" &
sink=$!
trap 'kill $sink 2>/dev/null' EXIT
i=0
while [ ! -e "$T/sink.ready" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -e "$T/sink.ready" ] || exit 99

# pt NAME USER OPS INPUT: pamtester's status and transcript in $T/NAME.
pt() {
	set +e
	printf "$4" | env LD_PRELOAD="$PRELOAD" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$T/svc" \
		pamtester -v orgauth-profile "$2" $3 >"$T/$1.out" 2>&1
	echo $? >"$T/$1.rc"
	set -e
}
code=$(oathtool --totp -b "$KEY")
wrong=$(printf '%s' "$code" | tr 0123456789 1234567890)
pt alice-ok alice authenticate "alice-pw\n$code\n"
pt alice-wrongcode alice authenticate "alice-pw\n$wrong\n"
pt alice-wrongpw alice authenticate "nope\n$code\n"
pt bob-pwonly bob authenticate "bob-pw\n"
pt gary-ok gary authenticate "gary-pw\n"
pt gina-account gina acct_mgmt ""
pt walt-account walt acct_mgmt ""
echo "$code" >"$T/code"
"$ORGAUTHCTL" --config "$T/orgauth.conf" mfa unlock alice >/dev/null
# The sink reads datagrams in order: once this marker is in the file, every
# line sent before it is too, and the sink may be stopped.
"$SINK" --send /dev/log "orgauth-test-mark end"
i=0
until grep -q 'orgauth-test-mark end$' "$T/syslog.log"; do
	[ $i -lt 200 ] || exit 99
	sleep 0.05
	i=$((i + 1))
done
EOF
PRELOAD=$(foreign_preload)
PRELOAD="${PRELOAD:+$PRELOAD }$WRAPPER"
export SINK PRELOAD ORGAUTHCTL KEY="$key"
unshare -m --propagation private sh "$T/inner.sh" "$T" ||
	broken "namespace run failed ($?)"

rc() { cat "$T/$1.rc"; }
o() { cat "$T/$1.out"; }
expect_eq "alice, password and code" 0 "$(rc alice-ok)"
expect_contains "alice's prompt" "Verification code" "$(o alice-ok)"
[ "$(rc alice-wrongcode)" != 0 ] || fail "wrong code accepted: $(o alice-wrongcode)"
[ "$(rc alice-wrongpw)" != 0 ] || fail "wrong password accepted"
case "$(o alice-wrongpw)" in
*"code"*) fail "a code was asked for after a wrong password: $(o alice-wrongpw)" ;;
esac
[ "$(rc bob-pwonly)" != 0 ] || fail "bob got in with a password alone: $(o bob-pwonly)"
expect_contains "bob's enrolment" "otpauth://totp/" "$(o bob-pwonly)"
[ ! -e "$T/mfa/bob.mfa" ] || fail "bob enrolled without a confirmed code"
expect_eq "gary, password only" 0 "$(rc gary-ok)"
case "$(o gary-ok)" in *"code"*) fail "gary was asked for a code" ;; esac
[ "$(rc gina-account)" != 0 ] || fail "gina (globex) passed acme's account check"
expect_contains "gina's message" "Access denied" "$(o gina-account)"
expect_eq "walt (acme workforce) account" 0 "$(rc walt-account)"

# One line per decision, with the fields; never the code.
log=$(cat "$T/syslog.log")
expect_contains "alice's line" 'op=auth user="alice" service="orgauth-profile"' "$log"
printf '%s\n' "$log" | grep -q 'user="alice".*org="acme" outcome=success reason=otp-accepted' ||
	fail "no success line for alice: $log"
printf '%s\n' "$log" | grep -q 'user="alice".*outcome=failure reason=rejected' ||
	fail "no rejection line for alice: $log"
printf '%s\n' "$log" | grep -q 'op=account user="gina".*outcome=failure reason=no-role-in-host-organisation' ||
	fail "no refusal line for gina: $log"
n=$(printf '%s\n' "$log" | grep -c 'orgauth(pam): op=auth user="gary"')
expect_eq "gary's auth lines" 1 "$n"
case "$log" in *"$(cat "$T/code")"*) fail "a code reached the log: $log" ;; esac
# The administrator's changes are audited too.
expect_contains "unlock audit" \
	'orgauth(orgauthctl): op=mfa-unlock user="alice" outcome=success uid=0' "$log"
exit 0
