#!/bin/sh
# pam_orgauth.so exports the PAM entry points and nothing else (the
# version script pam_module/exports.map): no internal symbol of liborgauth
# can clash with the application's or another module's.
. "$top_srcdir/tests/lib.sh"
MODULE="$top_builddir/pam_module/.libs/pam_orgauth.so"
[ -f "$MODULE" ] || broken "$MODULE not built"
command -v nm >/dev/null || skip "nm missing"
syms=$(nm -D --defined-only "$MODULE" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' |
	sed 's/@.*//' | sort | tr '\n' ' ')
expect_eq "exported symbols" \
	"pam_sm_acct_mgmt pam_sm_authenticate pam_sm_setcred " "$syms"
exit 0
