#!/bin/sh
# orgauthctl's exit statuses and messages: 0 all well, 1 a problem found,
# 2 usage or I/O error; errors name the file and line.
. "$top_srcdir/tests/lib.sh"

fx="$top_srcdir/tests/fixtures"
good="$TEST_TMP/good.conf"
printf 'directory_ldif = %s\n' "$top_srcdir/examples/directory.ldif" >"$good"

# expect STATUS STDERR-NEEDLE ARGS...: runs orgauthctl, checks both
expect() {
	want=$1
	needle=$2
	shift 2
	rc=0
	octl "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
	[ "$rc" = "$want" ] ||
		fail "orgauthctl $*: exit $rc, expected $want: $(cat "$TEST_TMP/err")"
	if [ -n "$needle" ]; then
		expect_contains "orgauthctl $* stderr" "$needle" \
			"$(cat "$TEST_TMP/err")"
	fi
}

# 0
expect 0 "" --config "$good" check
expect 0 "" check --config "$good"
expect 0 "" --help
expect 0 "" --version
expect 0 "" user --help

# 2: usage
expect 2 "usage:" --config "$good" user
expect 2 "usage:" --config "$good" user a b
expect 2 "usage:" --config "$good" check extra
expect 2 "usage:" --config "$good" org --bogus x
expect 2 "unknown command 'frobnicate'" --config "$good" frobnicate
expect 2 "usage:"
# 2: I/O, output that cannot be written included
if [ -w /dev/full ]; then
	rc=0
	octl --config "$good" user alice >/dev/full 2>"$TEST_TMP/err" || rc=$?
	expect_eq "user >/dev/full" 2 "$rc"
	expect_contains "write error" "cannot write the output" \
		"$(cat "$TEST_TMP/err")"
fi
expect 2 "$TEST_TMP/none.conf: cannot open: No such file or directory" \
	--config "$TEST_TMP/none.conf" check
printf 'directory_ldif = %s/none.ldif\n' "$TEST_TMP" >"$TEST_TMP/noldif.conf"
expect 2 "$TEST_TMP/none.ldif: cannot read: No such file or directory" \
	--config "$TEST_TMP/noldif.conf" check
expect 2 "none.ldif: cannot read" --config "$TEST_TMP/noldif.conf" user alice

# 1: configuration problems, with file:line
printf 'host_organisation = acme\nbogus = 1\notp_digits = 9\n' \
	>"$TEST_TMP/bad.conf"
expect 1 "$TEST_TMP/bad.conf:2: unknown key 'bogus'" \
	--config "$TEST_TMP/bad.conf" check
expect_contains "second problem" "$TEST_TMP/bad.conf:3: otp_digits" \
	"$(cat "$TEST_TMP/err")"
expect 1 "" --config "$TEST_TMP/bad.conf" user alice

# 1: the host settings must name things of the directory
printf 'directory_ldif = %s\nhost_organisation = initech\nrequired_dataset = nosuch\n' \
	"$top_srcdir/examples/directory.ldif" >"$TEST_TMP/host.conf"
expect 1 "host_organisation 'initech' is not an organisation" \
	--config "$TEST_TMP/host.conf" check
expect_contains "required_dataset" "required_dataset 'nosuch' is not a dataset" \
	"$(cat "$TEST_TMP/err")"
printf 'directory_ldif = %s\nhost_organisation = globex\nrequired_project = zephyr\n' \
	"$top_srcdir/examples/directory.ldif" >"$TEST_TMP/host2.conf"
expect 1 "required_project 'zephyr' is not a project of globex" \
	--config "$TEST_TMP/host2.conf" check

# 1: no such user or organisation
expect 1 "no user 'mallory'" --config "$good" user mallory
expect 1 "no organisation 'initech'" --config "$good" org initech

# 1: an invalid directory: every problem, with file, line and DN; what is
# valid is still shown by user and org
printf 'directory_ldif = %s\n' "$fx/duplicates.ldif" >"$TEST_TMP/dup.conf"
expect 1 "$fx/duplicates.ldif:60: UID=U4,OU=People,dc=t: duplicate entry" \
	--config "$TEST_TMP/dup.conf" check
# (a checkout made under umask 002 adds a warning about the fixture's mode)
expect_eq "problem lines" 6 "$(grep -vc ': warning: writable by ' "$TEST_TMP/err")"
expect_contains "summary" "orgauthctl: 5 problems found" "$(cat "$TEST_TMP/err")"
[ -s "$TEST_TMP/out" ] && fail "check printed on stdout despite problems"
expect 1 "the directory has 5 problems" --config "$TEST_TMP/dup.conf" user u2
expect_contains "user shown" "user: u2" "$(cat "$TEST_TMP/out")"
printf 'directory_ldif = %s\n' "$fx/no-admin.ldif" >"$TEST_TMP/na.conf"
expect 1 "no-admin.ldif:1: o=a,dc=t: organisation 'a' has no admin" \
	--config "$TEST_TMP/na.conf" org a
expect_contains "org shown" "organisation: a" "$(cat "$TEST_TMP/out")"

# 1: an LDIF syntax error names its line
printf 'dn: o=a,dc=t\nobjectClass: orgauthOrganization\no: a\nbroken line\n' \
	>"$TEST_TMP/syntax.ldif"
printf 'directory_ldif = %s\n' "$TEST_TMP/syntax.ldif" >"$TEST_TMP/syn.conf"
expect 1 "$TEST_TMP/syntax.ldif:4: invalid LDIF line" \
	--config "$TEST_TMP/syn.conf" check

# 1: what sync would refuse is found by check too: two groups of one name
cat >"$TEST_TMP/clash.ldif" <<EOL
dn: o=a,dc=t
objectClass: orgauthOrganization
o: a
orgauthAdmin: uid=u1,dc=t

dn: uid=u1,dc=t
objectClass: posixAccount
uid: u1
uidNumber: 5000
gidNumber: 100
homeDirectory: /home/u1

dn: cn=admin,dc=t
objectClass: orgauthProject
cn: admin
orgauthOwner: o=a,dc=t
EOL
printf 'directory_ldif = %s\nproject_group_template = %%o-%%n\n' \
	"$TEST_TMP/clash.ldif" >"$TEST_TMP/clash.conf"
expect 1 "both make the group a-admin" --config "$TEST_TMP/clash.conf" check
printf 'directory_ldif = %s\n' "$TEST_TMP/clash.ldif" >"$TEST_TMP/ok.conf"
expect 0 "" --config "$TEST_TMP/ok.conf" check

# a directory others can write is worth a warning, not a failure
cp "$top_srcdir/examples/directory.ldif" "$TEST_TMP/open.ldif"
chmod 666 "$TEST_TMP/open.ldif"
printf 'directory_ldif = %s\n' "$TEST_TMP/open.ldif" >"$TEST_TMP/open.conf"
chmod 644 "$TEST_TMP/open.conf"
expect 0 "$TEST_TMP/open.ldif: warning: writable by everyone" \
	--config "$TEST_TMP/open.conf" check
chmod 664 "$TEST_TMP/open.ldif"
expect 0 "$TEST_TMP/open.ldif: warning: writable by its group" \
	--config "$TEST_TMP/open.conf" check
chmod 644 "$TEST_TMP/open.ldif"
expect 0 "" --config "$TEST_TMP/open.conf" check
[ -s "$TEST_TMP/err" ] && fail "warning for a file only its owner writes"
# A name typed (or pasted) with terminal control sequences in it is echoed
# in error messages without them: an escape sequence could retitle or
# rewrite the administrator's terminal.
esc=$(printf 'a\033]0;owned\007b\033[2Jc')
priv="$TEST_TMP/private.conf"
printf 'directory_ldif = %s\ncache_file = %s\nmfa_dir = %s\nhost_key_file = %s\n' \
	"$top_srcdir/examples/directory.ldif" "$TEST_TMP/cache" \
	"$TEST_TMP/mfa" "$TEST_TMP/host.key" >"$priv"
bad="$TEST_TMP/ctl.conf"
printf 'directory_ldif = %s\nco\033[2Jlour = blue\n' \
	"$top_srcdir/examples/directory.ldif" >"$bad"
for args in "user" "org" "mfa status"; do
	# shellcheck disable=SC2086
	octl --config "$priv" $args "$esc" >/dev/null 2>"$TEST_TMP/err"
	tr -d '\n' <"$TEST_TMP/err" | LC_ALL=C grep -q '[[:cntrl:]]' &&
		fail "orgauthctl $args: a control character reached stderr: $(cat -v "$TEST_TMP/err")"
done
octl --config "$bad" check >/dev/null 2>"$TEST_TMP/err"
tr -d '\n' <"$TEST_TMP/err" | LC_ALL=C grep -q '[[:cntrl:]]' &&
	fail "check: a control character reached stderr: $(cat -v "$TEST_TMP/err")"

# The commands that write as root (sync, mfa) refuse a configuration that
# others may write: it names the file that sync replaces and the store.
# check still reads it (that is how a draft is checked).
cp "$priv" "$TEST_TMP/open-conf.conf"
chmod 666 "$TEST_TMP/open-conf.conf"
expect 2 "not trusted" --config "$TEST_TMP/open-conf.conf" sync
[ -e "$TEST_TMP/cache" ] && fail "sync wrote a cache named by an open config"
expect 2 "not trusted" --config "$TEST_TMP/open-conf.conf" mfa status
expect 0 "" --config "$TEST_TMP/open-conf.conf" check
chmod 644 "$TEST_TMP/open-conf.conf"
expect 0 "" --config "$TEST_TMP/open-conf.conf" sync

exit 0
