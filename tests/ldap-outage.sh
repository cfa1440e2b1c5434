#!/bin/sh
# A server lost before or during a sync: `orgauthctl sync` fails with a
# message naming the server, and the cache of the last good sync stays as
# it was.  Three ways to lose it: slapd killed (connection refused), slapd
# stopped with SIGSTOP (no answer within ldap_timeout), and the connection
# cut in the middle of the read (a relay that drops it after a fixed
# number of bytes, so the point does not depend on timing).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/ldap/slapd-harness.sh"

proxy="$top_builddir/tests/cut_proxy"
[ -x "$proxy" ] || broken "tests/cut_proxy not built"
slapd_init 500
{
	slapd_ldif_base
	sh "$top_srcdir/tests/ldap/gen-users.sh" 2000 bulk
} >"$TEST_TMP/bulk.ldif" || broken "cannot generate users"
slapd_load "$TEST_TMP/bulk.ldif"
slapd_start
conf="$TEST_TMP/orgauth.conf"
cache="$TEST_TMP/cache"
out="$TEST_TMP/out"
err="$TEST_TMP/err"

ldap_conf "$conf"
sync_built "$conf" || skip "orgauthctl sync not built yet"
octl_bounded --config "$conf" sync >"$out" 2>"$err" ||
	{ cat "$err"; fail "first sync"; }
[ -s "$cache" ] || fail "first sync wrote no cache"
cp "$cache" "$TEST_TMP/cache.good"

# expect_sync_fails WHAT NEEDLE: sync fails naming NEEDLE; cache unchanged.
expect_sync_fails() {
	if octl_bounded --config "$conf" sync >"$out" 2>"$err"; then
		fail "$1: sync succeeded"
	fi
	expect_contains "$1" "$2" "$(cat "$err")"
	cmp -s "$cache" "$TEST_TMP/cache.good" || fail "$1: cache changed"
	no_secret_in "$out" "$err"
}

# start_relay PORT BUDGET [stall]: a relay to slapd's PORT that gives up
# after BUDGET bytes of answers (64 KiB: StartTLS, the bind and the first
# pages pass); sets $relay (an ldap:// URI) and $proxy_pid.
start_relay() {
	rm -f "$TEST_TMP/proxy.port"
	"$proxy" "$TEST_TMP/proxy.port" "$@" &
	proxy_pid=$!
	add_cleanup "kill $proxy_pid 2>/dev/null"
	i=0
	while [ ! -s "$TEST_TMP/proxy.port" ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -s "$TEST_TMP/proxy.port" ] || broken "relay did not start"
	relay="ldap://127.0.0.1:$(cat "$TEST_TMP/proxy.port")"
}

# Cut mid-read: the connection drops in the middle of the search.
start_relay "$SLAPD_PORT" 65536
ldap_conf "$conf" "ldap_uri = $relay" "ldap_page_size = 100"
expect_sync_fails "cut mid-read" "$relay"
expect_contains "cut mid-read" "connection lost" "$(cat "$err")"
expect_contains "cut mid-read" "not read whole" "$(cat "$err")"
wait "$proxy_pid"

# Hung mid-read: the server stops answering in the middle of the search.
start_relay "$SLAPD_PORT" 65536 stall
ldap_conf "$conf" "ldap_uri = $relay" "ldap_page_size = 100" \
	"ldap_timeout = 1"
expect_sync_fails "hung mid-read" "$relay"
expect_contains "hung mid-read" "ldap_timeout = 1 s" "$(cat "$err")"
expect_contains "hung mid-read" "not read whole" "$(cat "$err")"
wait "$proxy_pid"

# Servers that accept the connection but never finish the TLS handshake:
# an ldaps:// one, and an ldap:// one that answers StartTLS and then falls
# silent.  Each fails after ldap_timeout instead of hanging the sync.
start_relay "$SLAPD_TLS_PORT" 0 stall
tls_relay="ldaps://${relay#ldap://}"
ldap_conf "$conf" "ldap_uri = $tls_relay" "ldap_timeout = 1"
expect_sync_fails "silent ldaps" "$tls_relay"
expect_contains "silent ldaps" "TLS handshake failed" "$(cat "$err")"
expect_contains "silent ldaps" "ldap_timeout = 1 s" "$(cat "$err")"
wait "$proxy_pid"
# slapd's StartTLS response is 38 bytes: the relay passes it, then no
# more.
start_relay "$SLAPD_PORT" 38 stall
ldap_conf "$conf" "ldap_uri = $relay" "ldap_timeout = 1"
expect_sync_fails "silent after StartTLS" "$relay"
expect_contains "silent after StartTLS" "StartTLS failed" "$(cat "$err")"
expect_contains "silent after StartTLS" "ldap_timeout = 1 s" "$(cat "$err")"
wait "$proxy_pid"

# The next URI is used after such a server, and the sync succeeds.
start_relay "$SLAPD_TLS_PORT" 0 stall
tls_relay="ldaps://${relay#ldap://}"
ldap_conf "$conf" "ldap_uri = $tls_relay $SLAPD_URI" "ldap_timeout = 1"
octl_bounded --config "$conf" sync >"$out" 2>"$err" ||
	{ cat "$err"; fail "second server not used after a silent first one"; }
wait "$proxy_pid"
cp "$cache" "$TEST_TMP/cache.good"

# Stopped: connections are accepted by the kernel but never answered.
kill -STOP "$SLAPD_PID"
ldap_conf "$conf" "ldap_timeout = 1" "ldap_connect_timeout = 1"
expect_sync_fails "slapd stopped" "$SLAPD_URI"
expect_contains "slapd stopped" "ldap_timeout = 1 s" "$(cat "$err")"
kill -CONT "$SLAPD_PID"

# Killed: nothing listens any more.
slapd_stop
ldap_conf "$conf"
expect_sync_fails "slapd killed" "$SLAPD_URI"

# The cache left in place still answers for the users it holds.
octl --config "$conf" cache >"$out" 2>"$err" ||
	{ cat "$err"; fail "orgauthctl cache after failed syncs"; }
exit 0
