# Shared helpers for the shell tests; source it: . "$top_srcdir/tests/lib.sh"
# Exit codes follow automake: 0 pass, 1 fail, 77 skip, 99 broken harness.

: "${top_srcdir:?run through make check}"
: "${top_builddir:?run through make check}"

ORGAUTHCTL="$top_builddir/orgauthctl"

# A temporary folder for this test, removed on exit.  Tests register their
# own cleanups (servers to stop) with add_cleanup.
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/orgauth-test.XXXXXX")
_cleanups=""
add_cleanup() { _cleanups="$1; $_cleanups"; }
_run_cleanups() {
	eval "$_cleanups"
	rm -rf "$TEST_TMP"
}
trap _run_cleanups EXIT
trap 'exit 99' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
broken() { echo "ERROR: $*" >&2; exit 99; }

# Runs one of our own programs, under valgrind when ORGAUTH_VALGRIND=1
# (a valgrind error makes the command exit 99).
run() {
	if [ "${ORGAUTH_VALGRIND:-0}" = 1 ]; then
		valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite \
			--suppressions="$top_srcdir/tests/valgrind.supp" "$@"
	else
		"$@"
	fi
}

# orgauthctl with the arguments given, through run().
octl() { run "$ORGAUTHCTL" "$@"; }

# In a sanitizer build our modules need the ASan runtime preloaded into the
# foreign programs that load them (getent, pamtester, sshd).
foreign_preload() {
	if [ "${ORGAUTH_SANITIZERS:-no}" = yes ]; then
		printf '%s' "$(gcc -print-file-name=libasan.so)"
	fi
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: expected [$2], got [$3]"
}

# expect_contains WHAT NEEDLE HAYSTACK
expect_contains() {
	case "$3" in
	*"$2"*) ;;
	*) fail "$1: [$2] not found in [$3]" ;;
	esac
}
