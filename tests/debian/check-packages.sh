#!/bin/sh
# Builds the Debian packages from a temporary copy of the source tree and
# checks what they hold: the PAM module where libpam looks, the NSS module
# where glibc looks, the man pages, the pam-auth-update profile (off by
# default, placed so that a password alone cannot skip it), the systemd
# units, the conffiles and the state folder modes; then runs lintian and
# fails on any error.
#
# Nothing is installed on this machine (no dpkg -i).  The maintainer
# scripts and the profile run for real only inside a private mount
# namespace, on throw-away copies of everything they could write.
#
# Not part of `make check`: dpkg-buildpackage runs configure and make
# itself.  tests/run-all runs it after the three test legs.
#
# ORGAUTH_DEB_KEEP=1 keeps the work folder (its path is printed).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/orgauth-deb.XXXXXX")
cleanup()
{
	if [ "${ORGAUTH_DEB_KEEP:-0}" = 1 ]; then
		echo "check-packages: work folder kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

failed=0
fail()
{
	echo "check-packages: FAIL: $*" >&2
	failed=1
}
ok()
{
	echo "check-packages: ok: $*"
}

for tool in dpkg-buildpackage dpkg-deb dpkg-architecture lintian readelf nm; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "check-packages: $tool missing (run tests/install-deps)" >&2
		exit 99
	}
done
if [ ! -f "$top/debian/control" ]; then
	echo "check-packages: skipped: no debian/ here (a release tarball)"
	exit 77
fi
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -SVersion)
upstream=${version%-*}

# --- a copy of the tree: what git tracks plus new files not ignored, as
# they are in the working tree, so uncommitted edits are checked too.
src="$work/orgauth-$upstream"
mkdir "$src"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# shellcheck disable=SC2016 # $f is the inner shell's
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do
			if [ -e "$f" ] || [ -L "$f" ]; then printf "%s\0" "$f"; fi
		done' sh |
		tar --null -T - -cf -) | tar -xf - -C "$src"
else
	(cd "$top" && tar --exclude='./_build*' --exclude=./debian/tmp -cf - .) |
		tar -xf - -C "$src"
fi
# The upstream tarball is the tree without debian/, so that the source
# package (and lintian's source checks) can be built too.
(cd "$work" && tar --exclude="orgauth-$upstream/debian" \
	-czf "orgauth_$upstream.orig.tar.gz" "orgauth-$upstream")

# --- build (no dh_auto_test: the test suite has its own legs)
echo "check-packages: building in $src"
if ! (cd "$src" &&
	DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
		dpkg-buildpackage -us -uc -Pnocheck) >"$work/build.log" 2>&1; then
	tail -n 60 "$work/build.log" >&2
	echo "check-packages: FAIL: dpkg-buildpackage (log above)" >&2
	exit 1
fi
ok "dpkg-buildpackage"

deb()
{
	set -- "$work"/"$1"_*.deb
	[ -f "$1" ] || return 1
	echo "$1"
}
for p in orgauth libpam-orgauth libnss-orgauth; do
	d=$(deb "$p") || {
		fail "package $p not built"
		continue
	}
	mkdir -p "$work/x/$p" "$work/ctl/$p"
	dpkg-deb -x "$d" "$work/x/$p"
	dpkg-deb -e "$d" "$work/ctl/$p"
	dpkg-deb -c "$d" >"$work/$p.contents"
done
[ "$failed" = 0 ] || exit 1

# Prints the mode string and owner of PATH as dpkg-deb -c lists it.
entry()
{
	awk -v p="./$2" '$6 == p || $6 == p "/" { print $1, $2 }' \
		"$work/$1.contents"
}
# A maintainer script without comments and here-document bodies (the
# messages that tell the administrator what to run), so that only commands
# are checked.
code_of()
{
	awk '
		end != "" { if ($0 == end) end = ""; next }
		/^[[:space:]]*#/ { next }
		match($0, /<<-?[[:space:]]*[\047"]?[A-Za-z_]+/) {
			end = substr($0, RSTART, RLENGTH)
			sub(/^<<-?[[:space:]]*[\047"]?/, "", end)
		}
		{ print }' "$1"
}
is_elf_so()
{
	readelf -h "$1" 2>/dev/null | grep -q 'Type:.*DYN'
}

# --- libpam-orgauth
x="$work/x/libpam-orgauth"
mod="lib/$triplet/security/pam_orgauth.so"
if [ -f "$x/$mod" ] && is_elf_so "$x/$mod"; then
	ok "libpam-orgauth: /$mod (where libpam-modules puts pam_unix.so)"
	syms=$(nm -D --defined-only "$x/$mod" | awk '$2 == "T" { print $3 }')
	echo "$syms" | grep -q '^pam_sm_authenticate$' ||
		fail "libpam-orgauth: pam_sm_authenticate not exported"
	readelf -d "$x/$mod" | grep -q 'NEEDED.*\[libqrencode\.so' ||
		fail "libpam-orgauth: built without QR codes (libqrencode)"
	extra=$(echo "$syms" | grep -v '^pam_sm_' || true)
	[ -z "$extra" ] || fail "libpam-orgauth: exports more than pam_sm_*: $extra"
else
	fail "libpam-orgauth: /$mod missing or not a shared object"
fi
prof=usr/share/pam-configs/orgauth
if [ -f "$x/$prof" ]; then
	ok "libpam-orgauth: /$prof"
	grep -q '^Default:[[:space:]]*no[[:space:]]*$' "$x/$prof" ||
		fail "libpam-orgauth: profile is not 'Default: no'"
	grep -q 'pam_orgauth\.so' "$x/$prof" ||
		fail "libpam-orgauth: profile does not name pam_orgauth.so"
else
	fail "libpam-orgauth: /$prof missing"
fi
grep -q 'pam-auth-update --package --remove orgauth' \
	"$work/ctl/libpam-orgauth/prerm" 2>/dev/null ||
	fail "libpam-orgauth: prerm does not remove the profile"
grep -q '^[[:space:]]*pam-auth-update --package[[:space:]]*$' \
	"$work/ctl/libpam-orgauth/postinst" 2>/dev/null ||
	fail "libpam-orgauth: postinst does not register the profile"

# --- libnss-orgauth
x="$work/x/libnss-orgauth"
mod="lib/$triplet/libnss_orgauth.so.2"
if [ -f "$x/$mod" ] && is_elf_so "$x/$mod"; then
	ok "libnss-orgauth: /$mod (where libc6 puts libnss_files.so.2)"
	readelf -d "$x/$mod" | grep -q 'SONAME.*\[libnss_orgauth\.so\.2\]' ||
		fail "libnss-orgauth: SONAME is not libnss_orgauth.so.2"
	nm -D --defined-only "$x/$mod" | grep -q ' T _nss_orgauth_getpwnam_r$' ||
		fail "libnss-orgauth: _nss_orgauth_getpwnam_r not exported"
	needed=$(readelf -d "$x/$mod" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
		grep -v -e '^libc\.so\.' -e '^ld-linux' || true)
	[ -z "$needed" ] || fail "libnss-orgauth: links more than libc: $needed"
else
	fail "libnss-orgauth: /$mod missing or not a shared object"
fi
if find "$x" -name '*.la' -o -name 'libnss_orgauth.so' | grep -q .; then
	fail "libnss-orgauth: ships a .la or the unversioned .so"
fi

# --- orgauth
x="$work/x/orgauth"
if [ -x "$x/usr/sbin/orgauthctl" ]; then
	ok "orgauth: /usr/sbin/orgauthctl"
else
	fail "orgauth: /usr/sbin/orgauthctl missing"
fi
for u in orgauth-sync.service orgauth-sync.timer; do
	if [ -f "$x/lib/systemd/system/$u" ]; then
		ok "orgauth: /lib/systemd/system/$u"
	else
		fail "orgauth: /lib/systemd/system/$u missing"
	fi
done
# dh_installsystemd --no-enable guards its enable with "debian-installed"
# (re-enable only what the administrator enabled); nothing may start.
pi="$work/ctl/orgauth/postinst"
code_of "$pi" >"$work/postinst.code"
if grep -q 'deb-systemd-helper.* enable' "$work/postinst.code" &&
	! grep -q 'deb-systemd-helper debian-installed' "$work/postinst.code"; then
	fail "orgauth: postinst enables a unit on install"
fi
if grep -E -q 'deb-systemd-invoke[^#]*(start|restart)|systemctl[^#]* (enable|start)' \
	"$work/postinst.code"; then
	fail "orgauth: postinst starts a unit"
fi
if command -v systemd-analyze >/dev/null 2>&1; then
	# Any message from verify (an unknown or misspelt directive is only a
	# warning there) fails.  ExecStart points at the extracted tool.
	mkdir "$work/units"
	for u in orgauth-sync.service orgauth-sync.timer; do
		sed "s#/usr/sbin/orgauthctl#$x/usr/sbin/orgauthctl#" \
			"$x/lib/systemd/system/$u" >"$work/units/$u"
	done
	if (cd "$work/units" && systemd-analyze verify --man=no \
		./orgauth-sync.service ./orgauth-sync.timer) >"$work/verify.log" 2>&1 &&
		[ ! -s "$work/verify.log" ]; then
		ok "orgauth: systemd-analyze verify"
	else
		cat "$work/verify.log" >&2
		fail "orgauth: systemd-analyze verify"
	fi
	# A weakened sandbox fails here.
	if ! (cd "$x/lib/systemd/system" &&
		systemd-analyze security --offline=true --threshold=25 \
			--no-pager ./orgauth-sync.service) >"$work/security.log" 2>&1; then
		cat "$work/security.log" >&2
		fail "orgauth: orgauth-sync.service sandbox weaker than expected"
	else
		ok "orgauth: $(grep 'Overall exposure' "$work/security.log")"
	fi
fi
if [ "$(entry orgauth var/lib/orgauth)" = "drwxr-xr-x root/root" ] &&
	[ "$(entry orgauth var/lib/orgauth/mfa)" = "drwx------ root/root" ]; then
	ok "orgauth: /var/lib/orgauth root:root 0755, mfa/ root:root 0700"
else
	fail "orgauth: /var/lib/orgauth not 0755 or mfa/ not 0700 (root:root)"
fi
if grep -qx /etc/orgauth/orgauth.conf "$work/ctl/orgauth/conffiles" &&
	[ "$(entry orgauth etc/orgauth/orgauth.conf)" = "-rw-r--r-- root/root" ]; then
	ok "orgauth: conffile /etc/orgauth/orgauth.conf root:root 0644"
else
	fail "orgauth: /etc/orgauth/orgauth.conf not a root:root 0644 conffile"
fi
for f in orgauth-schema.ldif directory.ldif orgauth.conf; do
	if [ -f "$x/usr/share/doc/orgauth/examples/$f" ]; then
		ok "orgauth: /usr/share/doc/orgauth/examples/$f"
	else
		fail "orgauth: /usr/share/doc/orgauth/examples/$f missing"
	fi
done

# The man pages where they belong, and every man page of doc/ in exactly
# one package, compressed.
for m in orgauth/man8/orgauthctl.8 orgauth/man5/orgauth.conf.5 \
	libpam-orgauth/man8/pam_orgauth.8 libnss-orgauth/man5/nss_orgauth.5; do
	[ -f "$work/x/${m%%/*}/usr/share/man/${m#*/}.gz" ] ||
		fail "${m%%/*}: man page ${m##*/} missing"
done
for m in "$top"/doc/*.[1-8]; do
	[ -f "$m" ] || continue
	n=$(basename "$m")
	where=$(ls "$work"/x/*/usr/share/man/man"${n##*.}"/"$n".gz 2>/dev/null || true)
	case $(echo "$where" | grep -c .) in
	1) ok "man page $n in $(echo "$where" | sed "s#$work/x/##; s#/.*##")" ;;
	*) fail "man page $n shipped $(echo "$where" | grep -c .) times" ;;
	esac
done

# --- maintainer scripts: never write nsswitch.conf or sshd's config, never
# enable the PAM profile themselves.
for s in "$work"/ctl/*/preinst "$work"/ctl/*/postinst "$work"/ctl/*/prerm \
	"$work"/ctl/*/postrm; do
	[ -f "$s" ] || continue
	code_of "$s" >"$work/script.code"
	if grep -E 'nsswitch|sshd_config|/etc/ssh' "$work/script.code" |
		grep -E -q 'sed |perl |>|tee |mv |cp |ln |rm '; then
		fail "${s#"$work"/ctl/} writes nsswitch.conf or sshd's config"
	fi
	if grep -E -q 'pam-auth-update.*(--enable|--force)' "$work/script.code"; then
		fail "${s#"$work"/ctl/} enables a PAM profile"
	fi
done

# --- the maintainer scripts and the profile, run for real with the real
# pam-auth-update and deb-systemd-helper, in a private mount namespace
# where everything they could write is a throw-away copy: /var/lib and
# /etc/systemd/system are empty tmpfs, /etc/pam.d, /etc/nsswitch.conf,
# /usr/share/pam-configs and the debconf database are bind-mounted copies.
try_scripts()
{
	if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1 ||
		! command -v pam-auth-update >/dev/null 2>&1 ||
		! unshare -m --propagation private true 2>/dev/null; then
		echo "check-packages: skipped: maintainer scripts run (needs root and unshare)"
		return 0
	fi
	w="$work/ns"
	mkdir -p "$w"
	cp -a /etc/pam.d "$w/pam.d"
	cp -a /var/lib/pam "$w/pam-state"
	cp -a /var/cache/debconf "$w/debconf"
	cp -a /usr/share/pam-configs "$w/configs"
	cp /etc/nsswitch.conf "$w/nsswitch.conf"
	cp /var/lib/dpkg/info/libpam-runtime.templates "$w/templates"
	cp "$work/x/libpam-orgauth/usr/share/pam-configs/orgauth" "$w/configs/"
	mkdir "$w/units"
	cp "$work"/x/orgauth/lib/systemd/system/* "$w/units/"
	cat >"$w/run" <<'RUN'
set -eu
w=$1
ctl=$2
[ -d "$w" ] && [ -d "$ctl" ] || exit 99
mount --bind "$w/pam.d" /etc/pam.d
mount --bind "$w/debconf" /var/cache/debconf
mount --bind "$w/configs" /usr/share/pam-configs
mount --bind "$w/nsswitch.conf" /etc/nsswitch.conf
mount -t tmpfs tmpfs /etc/systemd/system
mount -t tmpfs tmpfs /var/lib
# Only the packaged units, as deb-systemd-helper would find them.
mount -t tmpfs tmpfs /lib/systemd/system
cp "$w"/units/* /lib/systemd/system/
mkdir -p /var/lib/dpkg/info
: >/var/lib/dpkg/statoverride
cp "$w/templates" /var/lib/dpkg/info/libpam-runtime.templates
cp -a "$w/pam-state" /var/lib/pam
export DEBIAN_FRONTEND=noninteractive
# As dpkg would have unpacked them, but with modes gone wrong.
mkdir -p /var/lib/orgauth/mfa
chmod 0777 /var/lib/orgauth /var/lib/orgauth/mfa

DPKG_MAINTSCRIPT_PACKAGE=orgauth sh "$ctl/orgauth/postinst" configure "" \
	>"$w/orgauth.out" 2>&1
stat -c '%a %U:%G' /var/lib/orgauth /var/lib/orgauth/mfa >"$w/modes"
find /etc/systemd/system -name 'orgauth*' >"$w/enabled-units"
# An upgrade with a cache rebuilds it; a failing rebuild (here: no
# orgauthctl on PATH) is reported and does not fail the script.
: >/var/lib/orgauth/cache
DPKG_MAINTSCRIPT_PACKAGE=orgauth PATH=/usr/bin:/bin \
	sh "$ctl/orgauth/postinst" configure 0.0.1-1 >"$w/upgrade.out" 2>&1

DPKG_MAINTSCRIPT_PACKAGE=libnss-orgauth \
	sh "$ctl/libnss-orgauth/postinst" configure "" >"$w/nss.out" 2>&1
DPKG_MAINTSCRIPT_PACKAGE=libpam-orgauth \
	sh "$ctl/libpam-orgauth/postinst" configure "" >"$w/pam.out" 2>&1
cat /etc/pam.d/common-* >"$w/after-install"
pam-auth-update --enable orgauth >/dev/null 2>&1
cp /etc/pam.d/common-auth "$w/enabled-auth"
cp /etc/pam.d/common-account "$w/enabled-account"
DPKG_MAINTSCRIPT_PACKAGE=libpam-orgauth \
	sh "$ctl/libpam-orgauth/prerm" upgrade 0.1.0-2 >/dev/null 2>&1
DPKG_MAINTSCRIPT_PACKAGE=libpam-orgauth \
	sh "$ctl/libpam-orgauth/postinst" configure 0.1.0-1 >/dev/null 2>&1
cat /etc/pam.d/common-* >"$w/after-upgrade"
DPKG_MAINTSCRIPT_PACKAGE=libpam-orgauth \
	sh "$ctl/libpam-orgauth/prerm" remove >/dev/null 2>&1
cat /etc/pam.d/common-* >"$w/after-remove"
DPKG_MAINTSCRIPT_PACKAGE=orgauth sh "$ctl/orgauth/postrm" purge >/dev/null 2>&1
if [ ! -e /var/lib/orgauth ]; then
	echo gone >"$w/purged"
fi
RUN
	if ! unshare -m --propagation private sh "$w/run" "$w" "$work/ctl" \
		>"$w/log" 2>&1; then
		cat "$w/log" >&2
		fail "maintainer scripts run"
		return 0
	fi

	if [ "$(cat "$w/modes")" = "$(printf '755 root:root\n700 root:root')" ]; then
		ok "orgauth.postinst: /var/lib/orgauth 0755, mfa/ 0700, root:root"
	else
		fail "orgauth.postinst left modes: $(cat "$w/modes")"
	fi
	if [ -s "$w/enabled-units" ]; then
		fail "orgauth.postinst enabled: $(cat "$w/enabled-units")"
	else
		ok "orgauth.postinst: the timer stays disabled"
	fi
	if grep -q 'error' "$w/orgauth.out" "$w/log"; then
		fail "orgauth.postinst: $(cat "$w/orgauth.out" "$w/log")"
	fi
	if grep -q 'systemctl enable --now orgauth-sync.timer' "$w/orgauth.out"; then
		ok "orgauth.postinst: tells how to enable the timer"
	else
		fail "orgauth.postinst: no word about the timer"
	fi
	if grep -q "orgauthctl sync' failed" "$w/upgrade.out"; then
		ok "orgauth.postinst upgrade: a failed cache rebuild is reported, not fatal"
	else
		fail "orgauth.postinst upgrade: $(cat "$w/upgrade.out")"
	fi
	if cmp -s /etc/nsswitch.conf "$w/nsswitch.conf" &&
		grep -q 'passwd: files orgauth' "$w/nss.out"; then
		ok "libnss-orgauth.postinst: nsswitch.conf untouched, lines to add shown"
	else
		fail "libnss-orgauth.postinst: nsswitch.conf changed or no hint shown"
	fi
	if grep -q 'pam-auth-update --enable orgauth' "$w/pam.out" &&
		grep -q 'KbdInteractiveAuthentication yes' "$w/pam.out"; then
		ok "libpam-orgauth.postinst: tells how to enable PAM and sshd"
	else
		fail "libpam-orgauth.postinst: no hint shown"
	fi
	if grep -q pam_orgauth "$w/after-install"; then
		fail "libpam-orgauth.postinst enabled the profile"
	else
		ok "libpam-orgauth.postinst: profile registered, not enabled"
	fi
	if grep -q pam_orgauth "$w/after-upgrade"; then
		ok "libpam-orgauth: an enabled profile stays enabled across an upgrade"
	else
		fail "libpam-orgauth: upgrade disabled the profile"
	fi
	if grep -q pam_orgauth "$w/after-remove"; then
		fail "libpam-orgauth.prerm remove left pam_orgauth in /etc/pam.d/common-*"
	else
		ok "libpam-orgauth.prerm remove: pam_orgauth out of /etc/pam.d/common-*"
	fi
	if [ -f "$w/purged" ]; then
		ok "orgauth.postrm purge: /var/lib/orgauth removed"
	else
		fail "orgauth.postrm purge left /var/lib/orgauth"
	fi

	# Once enabled, a successful pam_unix must not jump over pam_orgauth:
	# its success=N lands on a rule at or before pam_orgauth's, which is
	# required or requisite (optional or sufficient could be skipped).
	for t in auth account; do
		if ! grep -q pam_orgauth "$w/enabled-$t"; then
			fail "enabled profile: no pam_orgauth in common-$t"
			continue
		fi
		if awk -v t="$t" '
			$1 == t { n++ }
			$1 == t && /pam_unix\.so/ {
				u = n
				j = 0
				if (match($0, /success=[0-9]+/))
					j = substr($0, RSTART + 8, RLENGTH - 8) + 0
			}
			$1 == t && /pam_orgauth\.so/ { o = n; ctl = $2 }
			END {
				if (!u) { print "no pam_unix"; exit 1 }
				if (o < u) { print "pam_orgauth before pam_unix"; exit 1 }
				if (u + 1 + j > o) {
					print "pam_unix success jumps over pam_orgauth"
					exit 1
				}
				if (ctl != "required" && ctl != "requisite" && ctl !~ /^\[/) {
					print "pam_orgauth is " ctl
					exit 1
				}
			}' "$w/enabled-$t" >"$w/why"; then
			ok "enabled profile: pam_orgauth in common-$t after pam_unix, not skippable"
		else
			fail "enabled profile, $t: $(cat "$w/why")"
		fi
	done
}
try_scripts

# --- the sync as the hardened unit runs it: the packaged orgauthctl,
# root without any capability, no new privileges, the whole file system
# read-only but for the state folder (ProtectSystem=strict,
# ReadWritePaths=, CapabilityBoundingSet=, NoNewPrivileges=), on the
# packaged sample directory; the cache it writes must be readable by
# everyone (the NSS module maps it in every process).
try_sandbox()
{
	if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null 2>&1 ||
		! unshare -m --propagation private true 2>/dev/null; then
		echo "check-packages: skipped: sandboxed sync (needs root, unshare, setpriv)"
		return 0
	fi
	sb="$work/sandbox"
	mkdir -p "$sb/state"
	chmod 0755 "$sb/state"
	x="$work/x/orgauth"
	{
		grep -v -e '^directory_ldif' -e '^cache_file' \
			"$x/etc/orgauth/orgauth.conf"
		echo "directory_ldif = $x/usr/share/doc/orgauth/examples/directory.ldif"
		echo "cache_file = $sb/state/cache"
	} >"$sb/orgauth.conf"
	# shellcheck disable=SC2016 # the inner shell expands its arguments
	if unshare -m --propagation private sh -c '
		set -e
		mount --bind "$1" "$1"
		mount -o remount,bind,ro /
		exec setpriv --bounding-set=-all --inh-caps=-all \
			--ambient-caps=-all --no-new-privs \
			"$2" --config "$3" sync' sh "$sb/state" \
		"$x/usr/sbin/orgauthctl" "$sb/orgauth.conf" >"$sb/log" 2>&1 &&
		[ "$(stat -c '%a %U' "$sb/state/cache" 2>/dev/null)" = "644 root" ]; then
		ok "orgauth: sync works with no capability on a read-only system"
	else
		cat "$sb/log" >&2
		ls -l "$sb/state" >&2
		fail "orgauth: sync in the unit's sandbox"
	fi
}
try_sandbox

# --- lintian: errors fail, the rest is shown.
echo "check-packages: lintian"
if ! lintian --fail-on error --info "$work"/orgauth_*.changes >"$work/lintian.log" 2>&1; then
	cat "$work/lintian.log" >&2
	fail "lintian reports errors"
else
	cat "$work/lintian.log"
	ok "lintian: no errors"
fi

[ "$failed" = 0 ] || exit 1
echo "check-packages: all checks passed"
