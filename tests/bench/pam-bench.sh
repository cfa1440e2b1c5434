#!/bin/sh
# The PAM benchmark: what pam_orgauth costs per login next to Debian's
# pam_oath (libpam-oath) with the same users and secrets, in one run.
# Results and how to read them: tests/bench/README.md.
#
# Run from a build:   make bench-pam      (or make bench)
# Environment:
#   BENCH_USERS            users per case (default 1000)
#   BENCH_ROUNDS           logins per user and case (default 3)
#   BENCH_PLAIN_USERS      users of the organisation without MFA
#                          (default BENCH_USERS; the first BENCH_USERS of
#                          them log in): a larger directory, a larger cache
#   BENCH_CALLGRIND_USERS  users for the instruction counts (default 20;
#                          0 skips them)
#   BENCH_DIR              where the temporary folder goes (default
#                          $TMPDIR or /tmp: the store's fsyncs cost what
#                          that file system makes them cost)
#   BENCH_SYSLOG           1 (default): logins run in a private mount
#                          namespace with a /dev/log sink, as on a host
#                          with a syslog daemon; 0: without /dev/log
#
# Everything lives in a temporary folder: the services are read with
# pam_start_confdir from there; /etc/pam.d is never read or written.
# Needs root: the MFA store must be root's.  Installs libpam-oath with
# apt-get when pam_oath.so is missing.
set -eu
: "${top_srcdir:?run through make bench-pam}"
: "${top_builddir:?run through make bench-pam}"
N=${BENCH_USERS:-1000}
ROUNDS=${BENCH_ROUNDS:-3}
NP=${BENCH_PLAIN_USERS:-$N}
CG_USERS=${BENCH_CALLGRIND_USERS:-20}
SYSLOG=${BENCH_SYSLOG:-1}
PERIOD=30
WINDOW=1

die() {
	echo "pam-bench: $*" >&2
	exit 1
}

[ "$NP" -ge "$N" ] || die "BENCH_PLAIN_USERS is below BENCH_USERS"
[ "$(id -u)" = 0 ] || die "run as root (the MFA store must be root's)"
DRIVER=$top_builddir/tests/bench/pam-bench
MODULE=$top_builddir/pam_module/.libs/pam_orgauth.so
ORGAUTHCTL=$top_builddir/orgauthctl
SINK=$top_builddir/tests/ssh/syslog-sink
for f in "$DRIVER" "$MODULE" "$ORGAUTHCTL"; do
	[ -e "$f" ] || die "$f is not built (make bench-pam builds it)"
done
SECDIR=$(pkg-config --variable=libdir pam 2>/dev/null || :)/security
[ -d "$SECDIR" ] || SECDIR=/lib/$(gcc -print-multiarch)/security
if [ ! -e "$SECDIR/pam_oath.so" ]; then
	echo "pam-bench: installing libpam-oath (pam_oath.so)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends libpam-oath >/dev/null ||
		die "apt-get install libpam-oath failed"
fi
[ -e "$SECDIR/pam_oath.so" ] || die "no pam_oath.so in $SECDIR"
# pam_oath with usersfile=.../${USER} looks the user up (getpwnam) and
# reads the file as that user: the bench's users come from nss_wrapper.
NSSW=/usr/lib/$(gcc -print-multiarch)/libnss_wrapper.so
if [ ! -e "$NSSW" ]; then
	echo "pam-bench: installing libnss-wrapper" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends libnss-wrapper >/dev/null ||
		die "apt-get install libnss-wrapper failed"
fi
[ -e "$NSSW" ] || die "no $NSSW"
if [ "$SYSLOG" = 1 ]; then
	[ -x "$SINK" ] || die "$SINK is not built"
	unshare -m true 2>/dev/null ||
		die "no mount namespaces here: run with BENCH_SYSLOG=0"
fi

W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/orgauth-bench.XXXXXX")
case "$W" in
/dev/*)
	# the syslog namespace lays an overlay over /dev, hiding /dev/shm
	rmdir "$W"
	die "BENCH_DIR under /dev: mount a tmpfs elsewhere (README.md)"
	;;
esac
trap '[ -n "${BENCH_KEEP:-}" ] || rm -rf "$W"' EXIT
trap 'exit 1' INT TERM
CONF=$W/orgauth.conf

# --- the directory: N users of an MFA organisation, NP of one without ----
awk -v n="$N" -v np="$NP" 'BEGIN {
	print "dn: dc=bench,dc=test\nobjectClass: dcObject\n" \
		"objectClass: organization\ndc: bench\no: Bench\n"
	print "dn: ou=people,dc=bench,dc=test\n" \
		"objectClass: organizationalUnit\nou: people\n"
	print "dn: ou=organisations,dc=bench,dc=test\n" \
		"objectClass: organizationalUnit\nou: organisations\n"
	org("mfaorg", "TRUE", "u", n)
	org("plainorg", "FALSE", "p", np)
	for (i = 0; i < n; i++)
		user("u", i, 200000)
	for (i = 0; i < np; i++)
		user("p", i, 1000000)
}
function org(name, mfa, prefix, n,   i) {
	print "dn: o=" name ",ou=organisations,dc=bench,dc=test"
	print "objectClass: orgauthOrganization\no: " name
	print "orgauthWorkforce: FALSE\norgauthMfaRequired: " mfa
	printf "orgauthAdmin: uid=%s%06d,ou=people,dc=bench,dc=test\n", prefix, 0
	for (i = 1; i < n; i++)
		printf "orgauthMember: uid=%s%06d,ou=people,dc=bench,dc=test\n", prefix, i
	print ""
}
function user(prefix, i, base,   uid) {
	uid = sprintf("%s%06d", prefix, i)
	print "dn: uid=" uid ",ou=people,dc=bench,dc=test"
	print "objectClass: inetOrgPerson\nobjectClass: posixAccount"
	print "objectClass: orgauthUser\nuid: " uid "\ncn: " uid "\nsn: " uid
	print "uidNumber: " base + i "\ngidNumber: 100"
	print "homeDirectory: /home/" uid "\nloginShell: /bin/sh\n"
}' >"$W/directory.ldif"

# recovery_codes = 0: enrolment needs no Argon2id, so it is quick; the
# lockout is out of reach of one wrong code per user and round.
cat >"$CONF" <<EOF
cache_file = $W/cache
directory_ldif = $W/directory.ldif
mfa_dir = $W/mfa
host_key_file = $W/host.key
host_organisation = mfaorg
recovery_codes = 0
otp_window = $WINDOW
otp_period = $PERIOD
lockout_failures = 1000
EOF
"$ORGAUTHCTL" --config "$CONF" sync >"$W/sync.out" 2>&1 ||
	die "sync: $(cat "$W/sync.out")"

# --- enrol every MFA user; the same secrets for pam_oath ---------------
echo "pam-bench: enrolling $N users" >&2
mkdir "$W/oath"
: >"$W/users.mfa"
: >"$W/users.plain"
: >"$W/users.oath"
cp /etc/passwd "$W/passwd"
cp /etc/group "$W/group"
i=0
while [ $i -lt "$N" ]; do
	u=$(printf 'u%06d' $i)
	key=$("$ORGAUTHCTL" --config "$CONF" mfa enroll "$u" |
		sed -n 's/^key: //p')
	[ -n "$key" ] || die "mfa enroll $u gave no key"
	hex=$(printf '%s' "$key" | base32 -d | od -An -tx1 | tr -d ' \n')
	echo "$u $key" >>"$W/users.mfa"
	printf 'HOTP/T%s/6\t%s\t-\t%s\n' $PERIOD "$u" "$hex" >>"$W/users.oath"
	printf 'HOTP/T%s/6\t%s\t-\t%s\n' $PERIOD "$u" "$hex" >"$W/oath/$u"
	chown $((200000 + i)):100 "$W/oath/$u"
	printf '%s:x:%d:100::/nonexistent:/bin/sh\n' "$u" $((200000 + i)) \
		>>"$W/passwd"
	printf 'p%06d -\n' $i >>"$W/users.plain"
	i=$((i + 1))
done
chmod 0600 "$W/users.oath" "$W/oath"/*
chmod 0755 "$W/oath"

# --- the services --------------------------------------------------------
S=$W/pam.d
mkdir "$S"
echo "auth required $MODULE config=$CONF" >"$S/orgauth"
OATH_OPTS="window=$WINDOW digits=6"
echo "auth required pam_oath.so usersfile=$W/users.oath $OATH_OPTS" >"$S/oath"
echo "auth required pam_oath.so usersfile=$W/oath/\${USER} $OATH_OPTS" \
	>"$S/oath-peruser"
echo "auth required pam_permit.so" >"$S/permit"
printf 'auth required pam_permit.so\nauth required %s config=%s\n' \
	"$MODULE" "$CONF" >"$S/permit-orgauth"

CASES="orgauth:orgauth:ok:$W/users.mfa
oath:oath:ok:$W/users.mfa
oath-peruser:oath-peruser:ok:$W/users.mfa
orgauth-wrong:orgauth:wrong:$W/users.mfa
oath-wrong:oath:wrong:$W/users.mfa
oath-peruser-wrong:oath-peruser:wrong:$W/users.mfa
permit-orgauth-none:permit-orgauth:none:$W/users.plain
permit-none:permit:none:$W/users.plain"

# in_ns COMMAND...: runs it where the modules' syslog lines go somewhere.
in_ns() {
	if [ "$SYSLOG" != 1 ]; then
		"$@"
		return
	fi
	mkdir -p "$W/ns"
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m --propagation private sh -c '
		set -eu
		d=$1; sink=$2; shift 2
		mkdir -p "$d/hostdev" "$d/upper" "$d/work"
		mount --rbind /dev "$d/hostdev"
		mount -t overlay orgauth-bench-dev \
			-o "lowerdir=$d/hostdev,upperdir=$d/upper,workdir=$d/work" /dev
		rm -f "$d/ready"
		"$sink" /dev/log "$d/syslog.log" "$d/ready" &
		pid=$!
		n=0
		while [ ! -e "$d/ready" ]; do
			n=$((n + 1)); [ $n -lt 500 ] || exit 99; sleep 0.01
		done
		rc=0
		"$@" || rc=$?
		kill $pid
		wait $pid 2>/dev/null || :
		exit $rc' sh "$W/ns" "$SINK" "$@"
}

# --- timed run -----------------------------------------------------------
echo "pam-bench: timing $N users x $ROUNDS rounds x 8 cases" >&2
# shellcheck disable=SC2086 # the cases are one a line, no spaces
in_ns env LD_PRELOAD="$NSSW" NSS_WRAPPER_PASSWD="$W/passwd" \
	NSS_WRAPPER_GROUP="$W/group" \
	"$DRIVER" -r "$ROUNDS" -p $PERIOD -w $WINDOW "$S" $CASES \
	>"$W/timed.tsv" || die "the timed run failed"
# the modules' lines went to the sink, not nowhere
if [ "$SYSLOG" = 1 ]; then
	n=$(grep -c 'orgauth(pam): op=auth' "$W/ns/syslog.log" || :)
	[ "$n" -ge $((3 * N * ROUNDS)) ] ||
		die "the syslog sink got $n orgauth lines"
fi

# --- instruction counts ----------------------------------------------------
# One run under callgrind, counting only inside bench_login, one dump
# after each case: instructions per login, repeatable from run to run.
CG=""
if [ "$CG_USERS" -gt 0 ] && command -v valgrind >/dev/null; then
	echo "pam-bench: counting instructions, $CG_USERS users per case" >&2
	head -n "$CG_USERS" "$W/users.mfa" >"$W/cg.mfa"
	head -n "$CG_USERS" "$W/users.plain" >"$W/cg.plain"
	mkdir "$W/cg"
	cg_cases=$(echo "$CASES" | sed -e "s|$W/users.mfa|$W/cg.mfa|" \
		-e "s|$W/users.plain|$W/cg.plain|")
	# codes of the timed run are spent: start after its last step
	after=$(($(date +%s) / PERIOD))
	# shellcheck disable=SC2086
	in_ns env LD_PRELOAD="$NSSW" NSS_WRAPPER_PASSWD="$W/passwd" \
		NSS_WRAPPER_GROUP="$W/group" valgrind --tool=callgrind \
		--toggle-collect=bench_login --dump-after=run_case \
		--callgrind-out-file="$W/cg/out.%p" \
		"$DRIVER" -a "$after" -p $PERIOD -w $WINDOW "$S" $cg_cases \
		>"$W/cg.tsv" 2>"$W/cg.log" ||
		die "the callgrind run failed: $(tail -n 5 "$W/cg.log")"
	# one dump per case, in the order given (out.PID.1, .2, ...)
	k=1
	for c in $(echo "$CASES" | cut -d: -f1); do
		f=$(find "$W/cg" -name "out.*.$k" | head -n 1)
		[ -n "$f" ] || die "no callgrind dump $k"
		ir=$(sed -n 's/^summary: //p' "$f")
		CG="$CG$c $((ir / CG_USERS))
"
		k=$((k + 1))
	done
fi

# --- the table -------------------------------------------------------------
fs=$(findmnt -n -o FSTYPE -T "$W" 2>/dev/null || stat -f -c %T "$W")
echo
echo "orgauth PAM benchmark: $N users ($NP without MFA, cache" \
	"$(($(stat -c %s "$W/cache") / 1024)) KiB), $ROUNDS rounds; $(nproc) cores," \
	"$(sed -n 's/^PRETTY_NAME="*\([^"]*\)"*$/\1/p' /etc/os-release);" \
	"store on $fs;" \
	"syslog sink: $([ "$SYSLOG" = 1 ] && echo yes || echo no)"
echo "$CG" | awk '
	FNR == NR { if ($1 != "") ir[$1] = $2; next }
	FNR == 1 { next }
	{ mean[$1] = $4; med[$1] = $5; p10[$1] = $6; p90[$1] = $7; n[$1] = $3 }
	END {
		printf "%-20s %7s %10s %10s %10s %10s %12s\n", "case", "logins",
			"mean us", "median us", "p10 us", "p90 us", "Ir/login"
		split("orgauth oath oath-peruser orgauth-wrong oath-wrong " \
			"oath-peruser-wrong permit-orgauth-none permit-none", order)
		for (i = 1; i <= 8; i++) {
			c = order[i]
			printf "%-20s %7d %10.1f %10.1f %10.1f %10.1f %12s\n", c, n[c],
				mean[c], med[c], p10[c], p90[c],
				(c in ir) ? ir[c] : "-"
		}
		print ""
		print "ratios (median time; instructions where counted):"
		one = "orgauth / oath (one users file)"
		per = "orgauth / oath (file per user)"
		ratio("accept: " one, "orgauth", "oath")
		ratio("accept: " per, "orgauth", "oath-peruser")
		ratio("reject: " one, "orgauth-wrong", "oath-wrong")
		ratio("reject: " per, "orgauth-wrong", "oath-peruser-wrong")
		ratio("no MFA: permit+orgauth / permit", "permit-orgauth-none",
			"permit-none")
		printf "%-42s %8.1f us\n", "no MFA: orgauth alone (median difference)",
			med["permit-orgauth-none"] - med["permit-none"]
	}
	function ratio(what, a, b) {
		printf "%-42s %8.2f", what, med[a] / med[b]
		if ((a in ir) && (b in ir) && ir[b] > 0)
			printf "   Ir %6.2f", ir[a] / ir[b]
		printf "\n"
	}' - "$W/timed.tsv"
