# Helpers for the NSS module tests; source after tests/lib.sh.
#
# A test writes a cache (mkcache or orgauthctl sync), then runs programs
# through glibc with the module answering, in one or both of two ways:
#   wrapper  nss_wrapper preloaded, loading the module itself
#            (NSS_WRAPPER_MODULE_SO_PATH, prefix orgauth)
#   ns       as root, a private mount namespace with a test nsswitch.conf
#            ("passwd: files orgauth") bind-mounted over /etc/nsswitch.conf
#            and the build folder on LD_LIBRARY_PATH: the real glibc path
MKCACHE="$top_builddir/tests/mkcache"
LOOKUP="$top_builddir/tests/nss_lookup"
NSS_MODULE_DIR="$top_builddir/nss_module/.libs"
NSS_MODULE="$NSS_MODULE_DIR/libnss_orgauth.so.2"

[ -f "$NSS_MODULE" ] || broken "$NSS_MODULE is not built"
[ -x "$MKCACHE" ] && [ -x "$LOOKUP" ] || broken "test helpers not built"

printf 'root:x:0:0:root:/root:/bin/sh\n' >"$TEST_TMP/passwd"
printf 'root:x:0:\n' >"$TEST_TMP/group"
printf 'passwd: files orgauth\ngroup: files orgauth\n' \
	>"$TEST_TMP/nsswitch.conf"

# The ways available here, "wrapper ns" at best.
nss_modes() {
	modes=
	if [ -n "$(wrapper_lib)" ]; then
		modes=wrapper
	fi
	if [ "$(id -u)" = 0 ] && unshare -m --propagation private true \
		2>/dev/null; then
		modes="$modes ns"
	fi
	[ -n "$modes" ] || skip "neither nss_wrapper nor unshare -m here"
	echo $modes
}

wrapper_lib() {
	for d in /usr/lib/*-linux-gnu /usr/lib64 /usr/lib; do
		if [ -f "$d/libnss_wrapper.so" ]; then
			echo "$d/libnss_wrapper.so"
			return
		fi
	done
}

# What our own programs run under: valgrind when ORGAUTH_VALGRIND=1.
our_prefix() {
	if [ "${ORGAUTH_VALGRIND:-0}" = 1 ]; then
		echo "valgrind -q --error-exitcode=99 --leak-check=full" \
			"--errors-for-leak-kinds=definite" \
			"--suppressions=$top_srcdir/tests/valgrind.supp"
	fi
}

# in_mode MODE CACHE COMMAND...: COMMAND through glibc with the module
# reading CACHE.  Set NSS_SYSLOG=DIR first to catch syslog lines (ns only).
in_mode() {
	mode=$1
	cache=$2
	shift 2
	preload=$(foreign_preload)
	case $mode in
	wrapper)
		env LD_PRELOAD="${preload:+$preload }$(wrapper_lib)" \
			NSS_WRAPPER_PASSWD="$TEST_TMP/passwd" \
			NSS_WRAPPER_GROUP="$TEST_TMP/group" \
			NSS_WRAPPER_MODULE_SO_PATH="$NSS_MODULE" \
			NSS_WRAPPER_MODULE_FN_PREFIX=orgauth \
			NSS_WRAPPER_DISABLE_DEEPBIND=1 \
			ASAN_OPTIONS=detect_leaks=0 \
			ORGAUTH_CACHE="$cache" "$@"
		;;
	ns)
		unshare -m --propagation private \
			env LD_LIBRARY_PATH="$NSS_MODULE_DIR" \
			LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 \
			ORGAUTH_CACHE="$cache" top_builddir="$top_builddir" \
			sh "$top_srcdir/tests/nss/ns-run.sh" \
			"$TEST_TMP/nsswitch.conf" "${NSS_SYSLOG:--}" "$@"
		;;
	*)
		broken "unknown mode $mode"
		;;
	esac
}

# tab-separated record lines for mkcache
rec() {
	(IFS='	'; printf '%s\n' "$*")
}
