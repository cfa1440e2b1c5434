#!/bin/sh
# Benchmark (not part of make check): the cost of the second factor.
# Times orgauthctl mfa enroll (Argon2id hashing of the recovery codes),
# LOGINS logins with a TOTP code and one with a recovery code through
# pamtester, pam_wrapper and the test-clock module (each login one time
# step later, so no code is a replay), and LOGINS racing logins of one
# code.  Run as root from a built tree:
#     tests/bench/mfa.sh BUILD-DIR [LOGINS]
set -eu
build=$(cd "${1:?usage: mfa.sh BUILD-DIR [LOGINS]}" && pwd)
logins=${2:-200}
src=$(cd "$(dirname "$0")/../.." && pwd)
module=$build/tests/.libs/pam_orgauth_clock.so
[ -f "$module" ] || { echo "build the checks first (make check)" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/orgauth-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/orgauth.conf" <<EOF2
cache_file = $tmp/cache
directory_ldif = $src/examples/directory.ldif
mfa_dir = $tmp/mfa
host_key_file = $tmp/host.key
host_organisation = acme
lockout_failures = 1000
EOF2
"$build/orgauthctl" --config "$tmp/orgauth.conf" sync >/dev/null
/usr/bin/time -f "mfa enroll, 10 recovery codes: %e s, %M KiB max RSS" \
	"$build/orgauthctl" --config "$tmp/orgauth.conf" mfa enroll alice \
	>"$tmp/enrol"
key=$(sed -n 's/^key: //p' "$tmp/enrol")
recovery=$(sed -n 's/^recovery: //p' "$tmp/enrol" | head -n 1)
mkdir "$tmp/svc"
pt() { # pt NOW ANSWER
	echo "auth required $module config=$tmp/orgauth.conf now=$1" \
		>"$tmp/svc/bench"
	echo "$2" | LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$tmp/svc" \
		pamtester bench alice authenticate >/dev/null 2>&1
}
t0=2000000000
start=$(date +%s.%N)
i=1 ok=0
while [ $i -le "$logins" ]; do
	now=$((t0 + 30 * i))
	pt $now "$(oathtool --totp -b -N "@$now" "$key")" && ok=$((ok + 1))
	i=$((i + 1))
done
end=$(date +%s.%N)
echo "$logins TOTP logins ($ok accepted): $(echo "($end - $start) * 1000 / $logins" | bc) ms each, with pamtester and oathtool"
start=$(date +%s.%N)
pt $((t0 + 30 * (logins + 1))) "$recovery" && echo -n "recovery code accepted: " || echo -n "recovery code REFUSED: "
end=$(date +%s.%N)
echo "$(echo "($end - $start) * 1000 / 1" | bc) ms"
# One code, many logins at once: exactly one may get in.
now=$((t0 + 30 * (logins + 5)))
code=$(oathtool --totp -b -N "@$now" "$key")
echo "auth required $module config=$tmp/orgauth.conf now=$now" >"$tmp/svc/bench"
i=1
while [ $i -le "$logins" ]; do
	(echo "$code" | LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$tmp/svc" \
		pamtester bench alice authenticate >/dev/null 2>&1 &&
		touch "$tmp/won.$i") &
	i=$((i + 1))
done
wait
echo "$logins racing logins with one code: $(ls "$tmp" | grep -c '^won\.') got in"
