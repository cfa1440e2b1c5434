# The sshd harness, shared by the end-to-end tests (tests/ssh/*.sh) and by
# examples/demo.  Source it after setting top_srcdir and top_builddir.
#
# How it keeps the machine's login configuration untouched
# ---------------------------------------------------------
# A real /usr/sbin/sshd runs inside a private mount namespace (`unshare -m`
# as root, propagation private) that tests/ssh/ns-init.sh prepares:
#   - /etc is an overlay: writes land in the harness folder.  Inside it
#     /etc/nsswitch.conf is ours ("passwd: files orgauth" ...), /etc/pam.d
#     is a bind mount of a folder holding only our `sshd` service, and
#     /etc/orgauth is a bind mount of the harness's etc-orgauth folder;
#   - /var/lib/orgauth is a bind mount of the harness's state folder (over
#     an overlay of /var/lib, since the host has no such folder), so the
#     modules and `orgauthctl` use their default paths;
#   - libnss_orgauth.so.2 is copied into an overlay of the folder that
#     holds libc, where glibc's dlopen finds it for every process in the
#     namespace (sshd, and `id` inside the user's session) and only there;
#   - pam_orgauth.so is named by absolute path in the PAM service file;
#   - /run (sshd's privilege separation folder /run/sshd, utmp),
#     /var/log (wtmp, lastlog) and /home are private;
#   - /dev is an overlay (pts and shm bound back) so that /dev/log can be
#     a socket of our own: tests/ssh/syslog-sink receives what sshd and the
#     modules send to syslog into $SSHH_DIR/syslog.log.  The sink is the
#     process that holds the namespace: killing it (after sshd) ends the
#     namespace and every mount in it.
# sshd listens on 127.0.0.1 only, on a free port chosen at run time, runs
# with -D -e (its own log goes to $SSHH_DIR/sshd.log) and is killed by
# sshh_stop.  The client is the real `ssh` in the host's namespace, driven
# by tests/ssh/login.exp (expect), which answers the prompts; TOTP codes
# are computed with oathtool when the prompt comes.
#
# Under AddressSanitizer the ASan runtime is preloaded into every process
# of the namespace through its private /etc/ld.so.preload (sshd, and `id`
# in the session, load our instrumented modules).  Under valgrind our own
# programs (orgauthctl) run under valgrind; sshd itself does not (it forks
# and re-executes itself per connection, and valgrind would slow each login
# past any reasonable test time).

SSHH_SSHD=${SSHH_SSHD:-/usr/sbin/sshd}
# pam_wrapper's test module (package libpam-wrapper), for a password step
# that needs no system user and no /etc/shadow entry.
SSHH_PAM_MATRIX=$(ls /usr/lib/*/pam_wrapper/pam_matrix.so 2>/dev/null |
	head -n 1)

# sshh_find_built NAME: path of a module libtool built, or nothing.
sshh_find_built() {
	find "$top_builddir" -path "*/.libs/$1" -type f 2>/dev/null | head -n 1
}

# sshh_init DIR: lays out the harness folder; sets SSHH_DIR and the paths
# of the built modules (empty while a module is not built yet).
sshh_init() {
	SSHH_DIR=$1
	SSHH_NS_PID=
	SSHH_SSHD_PID=
	SSHH_PORT=
	mkdir -p "$SSHH_DIR" &&
		cd "$SSHH_DIR" &&
		mkdir -p etc-orgauth state pam.d log home keys authorized \
			transcripts &&
		chmod 0755 . etc-orgauth state home authorized || return 1
	# sshd reads authorized keys as the user: the folders above must
	# let it through.
	chmod 0711 .. || return 1
	printf 'auth required pam_deny.so\naccount required pam_deny.so\npassword required pam_deny.so\nsession required pam_deny.so\n' \
		>pam.d/other
	: >passwd.extra
	: >group.extra
	: >session.env
	cd - >/dev/null || return 1
	SSHH_PAM_MODULE=$(sshh_find_built pam_orgauth.so)
	SSHH_NSS_MODULE=$(sshh_find_built libnss_orgauth.so.2)
	SSHH_SINK="$top_builddir/tests/ssh/syslog-sink"
	[ -x "$SSHH_SINK" ] || {
		echo "harness: $SSHH_SINK is not built (make tests/ssh/syslog-sink)" >&2
		return 1
	}
	if [ -n "$SSHH_NSS_MODULE" ]; then
		cp "$SSHH_NSS_MODULE" "$SSHH_DIR/libnss_orgauth.so.2" || return 1
		printf 'passwd: files orgauth\ngroup: files orgauth\nshadow: files\n' \
			>"$SSHH_DIR/nsswitch.conf"
	else
		printf 'passwd: files\ngroup: files\nshadow: files\n' \
			>"$SSHH_DIR/nsswitch.conf"
	fi
	printf 'hosts: files\n' >>"$SSHH_DIR/nsswitch.conf"
	: >"$SSHH_DIR/ld.so.preload"
	asan=$(foreign_preload)
	if [ -n "$asan" ]; then
		printf '%s\n' "$asan" >"$SSHH_DIR/ld.so.preload"
		# Foreign programs (sshd, the shell, id) are not ours to
		# leak-check; our modules' memory errors still abort them.
		printf 'ASAN_OPTIONS=detect_leaks=0\n' >>"$SSHH_DIR/session.env"
	fi
	ssh-keygen -q -t ed25519 -N '' -C orgauth-test-host \
		-f "$SSHH_DIR/host_ed25519" || return 1
}

# sshh_ns_start: starts the private namespace and its syslog sink.
sshh_ns_start() {
	# --pdeathsig: should the caller die without its cleanup (a signal
	# it does not trap), the namespace and sshd die with it.
	setpriv --pdeathsig TERM unshare -m --propagation private \
		sh "$top_srcdir/tests/ssh/ns-init.sh" "$SSHH_DIR" "$SSHH_SINK" \
		>"$SSHH_DIR/ns.log" 2>&1 &
	SSHH_NS_PID=$!
	i=0
	while [ ! -e "$SSHH_DIR/ns-ready" ]; do
		if ! kill -0 "$SSHH_NS_PID" 2>/dev/null || [ $i -ge 100 ]; then
			cat "$SSHH_DIR/ns.log" >&2
			echo "harness: the private namespace did not start" >&2
			SSHH_NS_PID=
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

# sshh_in_ns COMMAND...: runs a command inside the namespace.
sshh_in_ns() {
	nsenter -t "$SSHH_NS_PID" -m -- "$@"
}

# sshh_foreign COMMAND...: a program that is not ours (id, getent) inside
# the namespace; in a sanitizer build it runs with the ASan runtime, whose
# leak report is about the program, not about our modules, so it is off.
sshh_foreign() {
	nsenter -t "$SSHH_NS_PID" -m -- env ASAN_OPTIONS=detect_leaks=0 "$@"
}

# sshh_octl ARGS...: orgauthctl inside the namespace (default paths),
# under valgrind when ORGAUTH_VALGRIND=1.
sshh_octl() {
	if [ "${ORGAUTH_VALGRIND:-0}" = 1 ]; then
		sshh_in_ns valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite \
			--suppressions="$top_srcdir/tests/valgrind.supp" \
			"$top_builddir/orgauthctl" "$@"
	else
		sshh_in_ns "$top_builddir/orgauthctl" "$@"
	fi
}

# sshh_user_key NAME: a key pair for NAME, authorised for logins as NAME.
sshh_user_key() {
	rm -f "$SSHH_DIR/keys/$1" "$SSHH_DIR/keys/$1.pub"
	ssh-keygen -q -t ed25519 -N '' -C "$1@orgauth-test" \
		-f "$SSHH_DIR/keys/$1" &&
		cp "$SSHH_DIR/keys/$1.pub" "$SSHH_DIR/authorized/$1" &&
		chmod 0644 "$SSHH_DIR/authorized/$1"
}

# sshh_pam_service: the `sshd` PAM service, read from standard input.
sshh_pam_service() {
	cat >"$SSHH_DIR/pam.d/sshd"
}

# The session stack every test uses: homes made on first login, and the
# harness's environment (ASan options) for the session's processes.
sshh_pam_session() {
	printf 'session required pam_mkhomedir.so umask=0022\n'
	printf 'session required pam_env.so conffile=/dev/null envfile=%s readenv=1 user_readenv=0\n' \
		"$SSHH_DIR/session.env"
}

# The `sshd` service of doc/deploying.md's "key, then a code" profile
# (AuthenticationMethods publickey,keyboard-interactive): the key is the
# first factor, checked by sshd; pam_orgauth asks for the second where the
# organisation requires one (PAM_IGNORE otherwise, so pam_permit ends the
# dialogue, and gives pam_setcred a success); who may log in at all is
# pam_orgauth's account decision.
sshh_pam_key_then_code() {
	printf 'auth     required %s\n' "$SSHH_PAM_MODULE"
	printf 'auth     required pam_permit.so\n'
	printf 'account  required %s\n' "$SSHH_PAM_MODULE"
	sshh_pam_session
}

# sshh_free_port: prints a 127.0.0.1 TCP port nobody listens on now.
sshh_free_port() {
	while :; do
		n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		port=$((20000 + n % 40000))
		if [ -z "$(ss -Htln "sport = :$port")" ]; then
			echo "$port"
			return 0
		fi
	done
}

# sshh_sshd_start [SSHD_CONFIG_LINES]: starts sshd with the harness's
# sshd_config plus the lines given (AuthenticationMethods, AllowGroups...),
# and waits until it listens.
sshh_sshd_start() {
	extra=${1:-}
	tries=0
	while [ $tries -lt 5 ]; do
		tries=$((tries + 1))
		SSHH_PORT=$(sshh_free_port)
		# The test's lines first: in sshd_config the first value wins.
		cat >"$SSHH_DIR/sshd_config" <<CONF
$extra
ListenAddress 127.0.0.1
Port $SSHH_PORT
AddressFamily inet
HostKey $SSHH_DIR/host_ed25519
PidFile none
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $SSHH_DIR/authorized/%u
StrictModes no
PermitRootLogin no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
LogLevel VERBOSE
CONF
		printf '[127.0.0.1]:%s %s\n' "$SSHH_PORT" \
			"$(cut -d' ' -f1,2 "$SSHH_DIR/host_ed25519.pub")" \
			>"$SSHH_DIR/known_hosts"
		: >"$SSHH_DIR/sshd.log"
		# Programs that execute the next, not a function: $! must
		# be sshd's pid.
		setpriv --pdeathsig TERM env ASAN_OPTIONS=detect_leaks=0 \
			nsenter -t "$SSHH_NS_PID" -m -- \
			"$SSHH_SSHD" -D -e -f "$SSHH_DIR/sshd_config" \
			2>>"$SSHH_DIR/sshd.log" </dev/null &
		SSHH_SSHD_PID=$!
		i=0
		while [ $i -lt 100 ]; do
			if grep -q "Server listening on 127.0.0.1 port $SSHH_PORT" \
				"$SSHH_DIR/sshd.log"; then
				return 0
			fi
			kill -0 "$SSHH_SSHD_PID" 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		kill "$SSHH_SSHD_PID" 2>/dev/null || :
		wait "$SSHH_SSHD_PID" 2>/dev/null || :
		SSHH_SSHD_PID=
		grep -q 'Address already in use' "$SSHH_DIR/sshd.log" || break
	done
	cat "$SSHH_DIR/sshd.log" >&2
	echo "harness: sshd did not start" >&2
	return 1
}

# sshh_sshd_stop: stops sshd (and with it any session it still serves).
sshh_sshd_stop() {
	if [ -n "$SSHH_SSHD_PID" ]; then
		kill "$SSHH_SSHD_PID" 2>/dev/null || :
		wait "$SSHH_SSHD_PID" 2>/dev/null || :
		SSHH_SSHD_PID=
	fi
}

# sshh_stop: stops sshd, then the namespace.  Safe to call twice.  With
# SSHH_KEEP set to a folder, the transcripts and logs are copied there
# first (to look at a run after its temporary folder is gone).
sshh_stop() {
	if [ -n "${SSHH_KEEP:-}" ] && [ -d "${SSHH_DIR:-}/transcripts" ]; then
		mkdir -p "$SSHH_KEEP" &&
			cp -r "$SSHH_DIR/transcripts" "$SSHH_DIR"/*.log \
				"$SSHH_DIR/sshd_config" "$SSHH_DIR/pam.d/sshd" \
				"$SSHH_KEEP/" 2>/dev/null || :
	fi
	sshh_sshd_stop
	if [ -n "$SSHH_NS_PID" ]; then
		kill "$SSHH_NS_PID" 2>/dev/null || :
		wait "$SSHH_NS_PID" 2>/dev/null || :
		SSHH_NS_PID=
	fi
}

# sshh_login NAME USER [ANSWERS...] [-- COMMAND...]: logs in as USER with
# the real ssh client, driven by login.exp; the transcript (what the user
# saw, and what the driver typed) goes to $SSHH_DIR/transcripts/NAME and
# its path to SSHH_TRANSCRIPT.  ANSWERS are KEY=VALUE settings for the
# driver (see login.exp): key=NAME, password=..., secret=BASE32,
# codes="C1 C2", step=N.  Returns ssh's exit status.
sshh_login() {
	SSHH_TRANSCRIPT="$SSHH_DIR/transcripts/$1"
	sshh_user=$2
	shift 2
	SSHH_KEY= SSHH_PASSWORD= SSHH_SECRET= SSHH_CODES= SSHH_STEP=0
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		case "$1" in
		key=*) SSHH_KEY="$SSHH_DIR/keys/${1#key=}" ;;
		password=*) SSHH_PASSWORD=${1#password=} ;;
		secret=*) SSHH_SECRET=${1#secret=} ;;
		codes=*) SSHH_CODES=${1#codes=} ;;
		step=*) SSHH_STEP=${1#step=} ;;
		*)
			echo "sshh_login: unknown setting $1" >&2
			return 99
			;;
		esac
		shift
	done
	[ "${1:-}" = -- ] && shift
	SSHH_PROMPTS="$SSHH_TRANSCRIPT.prompts"
	export SSHH_PORT SSHH_DIR SSHH_KEY SSHH_PASSWORD SSHH_SECRET \
		SSHH_CODES SSHH_STEP SSHH_TRANSCRIPT SSHH_PROMPTS
	expect -f "$top_srcdir/tests/ssh/login.exp" "$sshh_user" "$@"
}

# sshh_count WHAT: how many prompts of a kind (code, password, other) the
# last login showed.
sshh_count() {
	grep -c "^$1\$" "$SSHH_PROMPTS" 2>/dev/null || true
}

# sshh_host_state: a fingerprint of the machine's own login configuration
# and of the paths the namespace covers, to compare before and after.
sshh_host_state() {
	find /etc/pam.d /etc/nsswitch.conf /etc/ssh /etc/ld.so.preload \
		/etc/orgauth /var/lib/orgauth /dev/log -xdev \
		-exec ls -ld {} + 2>/dev/null | sort
	find /etc/pam.d /etc/nsswitch.conf /etc/ssh -xdev -type f \
		-exec sha256sum {} + 2>/dev/null | sort
	# What is absent is part of the state, not an error.
	ls /usr/lib/*/libnss_orgauth* /lib/*/libnss_orgauth* 2>/dev/null || :
}

# sshh_have_modules: true when both of our modules are built.
sshh_have_modules() {
	[ -n "$SSHH_PAM_MODULE" ] && [ -n "$SSHH_NSS_MODULE" ]
}

# sshh_sample_org: the sample organisation of examples/ as the
# namespace's /etc/orgauth (orgauth.conf, directory.ldif).
sshh_sample_org() {
	cp "$top_srcdir/examples/orgauth.conf" \
		"$SSHH_DIR/etc-orgauth/orgauth.conf" &&
		cp "$top_srcdir/examples/directory.ldif" \
			"$SSHH_DIR/etc-orgauth/directory.ldif"
}

# sshh_conf_set KEY VALUE: sets one key of the namespace's orgauth.conf
# (a key may appear once).
sshh_conf_set() {
	conf="$SSHH_DIR/etc-orgauth/orgauth.conf"
	sed "/^[[:space:]]*$1[[:space:]]*=/d" "$conf" >"$conf.new" &&
		printf '%s = %s\n' "$1" "$2" >>"$conf.new" &&
		mv "$conf.new" "$conf"
}

# sshh_typed: the last code the driver typed in the last login.
sshh_typed() {
	sed -n 's/.*\[typed: \([0-9][0-9]*\)\].*/\1/p' "$SSHH_TRANSCRIPT" |
		tail -n 1
}

# sshh_log_sync: returns once the sink has written every message sent
# before it was called: messages on one datagram socket arrive in order,
# so once a marker sent now is in the file, the earlier ones are too.
sshh_log_sync() {
	SSHH_MARKS=$((${SSHH_MARKS:-0} + 1))
	mark="orgauth-test-mark $$ $SSHH_MARKS"
	timeout 10 nsenter -t "$SSHH_NS_PID" -m -- \
		"$SSHH_SINK" --send /dev/log "$mark" || return 1
	i=0
	until grep -q "$mark\$" "$SSHH_DIR/syslog.log" 2>/dev/null; do
		[ $i -lt 200 ] || return 1
		sleep 0.05
		i=$((i + 1))
	done
}

# sshh_log_has PATTERN: true when the syslog sink caught a line matching
# the extended regular expression.
sshh_log_has() {
	sshh_log_sync || echo "harness: the syslog sink did not answer" >&2
	grep -Eq "$1" "$SSHH_DIR/syslog.log"
}

# sshh_wrong_code SECRET: a code that is not the current one (the current
# one with its last digit changed).
sshh_wrong_code() {
	good=$(oathtool --totp -b "$1") || return 1
	last=${good#"${good%?}"}
	printf '%s%s\n' "${good%?}" $(((last + 1) % 10))
}

# sshh_sanitizer_reports: prints what AddressSanitizer or UBSan reported in
# sshd's log (sshd and its children run our modules); nothing when clean.
sshh_sanitizer_reports() {
	grep -E -A20 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
		"$SSHH_DIR/sshd.log" 2>/dev/null || :
}
