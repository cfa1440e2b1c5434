# Runs a command inside a private mount namespace (started by with_ns in
# nss-lib.sh as `unshare -m --propagation private sh ns-run.sh ...`) whose
# /etc/nsswitch.conf is the test's: glibc then loads libnss_orgauth.so.2
# from LD_LIBRARY_PATH.  Nothing is visible outside the namespace.
#
# usage: sh ns-run.sh NSSWITCH SYSLOG_DIR|- COMMAND...
# With SYSLOG_DIR, /dev becomes an overlay (upper layer in SYSLOG_DIR)
# holding a /dev/log socket served by tests/ssh/syslog-sink, which appends
# every message to SYSLOG_DIR/syslog.log.
set -eu
nsswitch=$1
logdir=$2
shift 2

mount --bind "$nsswitch" /etc/nsswitch.conf
# nscd, where one runs, would answer instead of the module
if [ -d /run/nscd ]; then
	mount -t tmpfs orgauth-test-nscd /run/nscd
fi
sink_pid=
# the sink goes with this script, whichever way it ends
trap '[ -z "$sink_pid" ] || kill "$sink_pid" 2>/dev/null || :' EXIT
if [ "$logdir" != - ]; then
	mkdir -p "$logdir/hostdev" "$logdir/upper" "$logdir/work"
	# a ready file of an earlier run would let the command start early
	rm -f "$logdir/ready"
	mount --rbind /dev "$logdir/hostdev"
	mount -t overlay orgauth-test-dev \
		-o "lowerdir=$logdir/hostdev,upperdir=$logdir/upper,workdir=$logdir/work" /dev
	"$top_builddir/tests/ssh/syslog-sink" /dev/log "$logdir/syslog.log" \
		"$logdir/ready" &
	sink_pid=$!
	n=0
	while [ ! -e "$logdir/ready" ]; do
		n=$((n + 1))
		[ $n -lt 500 ] || { echo "ns-run: no syslog sink" >&2; exit 99; }
		sleep 0.01
	done
fi
rc=0
"$@" || rc=$?
if [ -n "$sink_pid" ]; then
	# the sink has written everything once it has written a later line
	"$top_builddir/tests/ssh/syslog-sink" --send /dev/log \
		"orgauth-test-marker $$"
	n=0
	while ! grep -q "orgauth-test-marker $$" "$logdir/syslog.log" \
		2>/dev/null; do
		n=$((n + 1))
		[ $n -lt 3000 ] || { echo "ns-run: sink stuck" >&2; exit 99; }
		sleep 0.01
	done
	kill "$sink_pid"
	wait "$sink_pid" 2>/dev/null || :
	sink_pid=
fi
exit $rc
