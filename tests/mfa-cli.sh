#!/bin/sh
# orgauthctl mfa: enroll (URI, key and recovery codes for hand-over; the
# key computes the codes the URI promises), status, unlock, reset, exit
# codes, and the store's files and modes.
. "$top_srcdir/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip "the store must be root's"
command -v oathtool >/dev/null || skip "oathtool missing"
T=$TEST_TMP
conf=$T/orgauth.conf
cat >"$conf" <<EOF2
cache_file = $T/cache
mfa_dir = $T/state/mfa
host_key_file = $T/state/host.key
recovery_codes = 2
otp_issuer = Acme Corp
EOF2
mkdir -m 0700 "$T/state"
mfa() { octl --config "$conf" mfa "$@"; }

out=$(mfa status) || fail "status of an empty store: $out"
expect_eq "empty store" "no user is enrolled" "$out"
out=$(mfa enroll alice) || fail "enroll: $out"
uri=$(printf '%s\n' "$out" | sed -n 's/^uri: //p')
key=$(printf '%s\n' "$out" | sed -n 's/^key: //p')
expect_contains "issuer in the label" "otpauth://totp/Acme%20Corp:alice?" "$uri"
expect_contains "secret in the URI" "secret=$key&" "$uri"
expect_contains "issuer parameter" "&issuer=Acme%20Corp&" "$uri"
expect_eq "recovery codes" 2 "$(printf '%s\n' "$out" | grep -c '^recovery: [0-9][0-9]-[0-9a-z]\{5\}-[0-9a-z]\{5\}$')"
# 160-bit secret: 32 base32 characters, and oathtool accepts it.
expect_eq "key length" 32 "${#key}"
oathtool --totp -b "$key" >/dev/null || fail "oathtool refused the key"
# The record holds no plain secret and no plain recovery code.
rec=$T/state/mfa/alice.mfa
grep -q "$key" "$rec" && fail "the secret is in the record in clear"
code1=$(printf '%s\n' "$out" | sed -n 's/^recovery: //p' | head -n 1)
grep -q "$code1" "$rec" && fail "a recovery code is in the record in clear"
expect_eq "argon2id hashes" 2 "$(grep -c '^recovery=\$argon2id\$' "$rec")"

# Modes and owners.
expect_eq "store folder" "700 root" "$(stat -c '%a %U' "$T/state/mfa")"
expect_eq "record" "600 root" "$(stat -c '%a %U' "$rec")"
expect_eq "host key" "600 root 32" "$(stat -c '%a %U %s' "$T/state/host.key")"

out=$(mfa status alice) || fail "status alice: $out"
expect_contains "status" "alice: enrolled" "$out"
expect_contains "status" "recovery codes left 2/2" "$out"
expect_contains "status" "not locked" "$out"

# From here on no recovery codes: Argon2id is slow under valgrind.
sed -i 's/^recovery_codes = 2$/recovery_codes = 0/' "$conf"
mfa enroll alice >/dev/null 2>&1
expect_eq "enroll twice" 1 "$?"
mfa enroll --replace alice >"$T/replaced" || fail "enroll --replace"
key2=$(sed -n 's/^key: //p' "$T/replaced")
[ "$key2" != "$key" ] || fail "--replace kept the old secret"
mfa enroll bob >/dev/null || fail "enroll bob"
expect_eq "status lists both" 2 "$(mfa status | grep -c ': enrolled')"

# --config after the command, as every command takes it.
octl mfa status --config "$conf" alice >/dev/null ||
	fail "--config after mfa status"
mfa unlock alice >/dev/null || fail "unlock alice"
mfa reset alice >/dev/null || fail "reset alice"
[ ! -e "$rec" ] || fail "reset left the record"
mfa status alice >/dev/null
expect_eq "status of a reset user" 1 "$?"
mfa unlock alice >/dev/null 2>&1
expect_eq "unlock of a user not enrolled" 1 "$?"
mfa reset alice >/dev/null 2>&1
expect_eq "reset of a user not enrolled" 1 "$?"

# A QR code of the URI, where the build has libqrencode: the drawing,
# read back module by module, is the code the qrencode tool makes.
if mfa enroll --qr carol >"$T/qr.out" 2>"$T/qr.err"; then
	command -v qrencode >/dev/null || skip "qrencode (the tool) missing"
	uri=$(sed -n 's/^uri: //p' "$T/qr.out")
	qrencode -t ASCII -l L -m 2 "$uri" >"$T/qr.want" ||
		broken "qrencode"
	python3 - "$T/qr.out" "$T/qr.want" <<'PY' || fail "the QR code differs from qrencode's"
import sys
drawn = []
for line in open(sys.argv[1], encoding="utf-8"):
    if line.startswith("user: "):
        break
    top, bottom = [], []
    for ch in line.rstrip("\n"):
        top.append(ch in "\u2588\u2580")
        bottom.append(ch in "\u2588\u2584")
    drawn += [top, bottom]
want = [[c == " " for c in l.rstrip("\n")[::2]] for l in open(sys.argv[2])]
drawn = drawn[:len(want)]
if not want or drawn != want:
    sys.exit(1)
PY
else
	expect_contains "--qr without libqrencode" "libqrencode" "$(cat "$T/qr.err")"
fi
# Not a terminal: no QR code unless asked.
mfa enroll --replace carol >"$T/noqr.out" || fail "enroll carol"
grep -q "$(printf '\342\226\210')" "$T/noqr.out" && fail "a QR code went to a pipe"

# Usage errors.
mfa enroll '../etc' >/dev/null 2>&1
expect_eq "a path as user name" 2 "$?"
mfa frobnicate alice >/dev/null 2>&1
expect_eq "unknown action" 2 "$?"
mfa enroll >/dev/null 2>&1
expect_eq "enroll without user" 2 "$?"

# With a role cache, a name the directory does not know is refused:
# pam_orgauth leaves such users to other modules and would never ask for
# the code, so the administrator would hand over a second factor that
# protects nothing.
sed -e "s|^cache_file = .*|cache_file = $T/cache2|" "$conf" >"$T/with-cache.conf"
echo "directory_ldif = $top_srcdir/examples/directory.ldif" >>"$T/with-cache.conf"
octl --config "$T/with-cache.conf" sync >"$T/sync.out" 2>&1 ||
	broken "sync: $(cat "$T/sync.out")"
octl --config "$T/with-cache.conf" mfa enroll root >"$T/unknown.out" 2>&1
expect_eq "enroll a user the directory does not know" 1 "$?"
expect_contains "why" "not in the directory" "$(cat "$T/unknown.out")"
grep -q '^key:' "$T/unknown.out" && fail "a key was handed out for root"
[ -e "$T/state/mfa/root.mfa" ] && fail "a record was stored for root"
out=$(octl --config "$T/with-cache.conf" mfa enroll wendy) ||
	fail "enroll wendy (in the directory): $out"

# An untrusted store is refused, not repaired.
chmod 0755 "$T/state/mfa"
mfa status >/dev/null 2>&1
expect_eq "store open to others" 2 "$?"
expect_eq "mode left alone" 755 "$(stat -c '%a' "$T/state/mfa")"
chmod 0700 "$T/state/mfa"
printf 'garbage\n' >"$T/state/mfa/bob.mfa"
out=$(mfa status bob)
expect_eq "corrupt record" 2 "$?"
expect_contains "corrupt record" "corrupt" "$out"
exit 0
