#!/bin/sh
# Sizes: 100k users enumerated, a group of 5000 members (glibc's buffer
# starts small: ERANGE, TRYAGAIN and its retry with a larger one), a user
# in 3000 groups (initgroups, id, getgrouplist).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nss/nss-lib.sh"

N_USERS=100000
N_MEMBERS=5000
N_GROUPS=3000
awk -v users=$N_USERS -v members=$N_MEMBERS -v groups=$N_GROUPS 'BEGIN {
	OFS = "\t"
	print "org", "big", 0, 0
	for (i = 0; i < users; i++)
		print "user", sprintf("u%06d", i), 100000 + i, 100000 + i, \
			"User " i, "/home/u" i, "/bin/sh"
	print "user", "many", 99999, 99999, "", "/home/many", "/bin/sh"
	list = ""
	for (i = 0; i < members; i++)
		list = list (i ? "," : "") sprintf("u%06d", i)
	print "group", "bigteam", 3000000, "project", "big", list
	for (i = 0; i < groups; i++)
		print "group", sprintf("g%05d", i), 3100000 + i, "dataset", \
			"big", "many"
}' | "$MKCACHE" "$TEST_TMP/cache" || broken "mkcache"
CACHE=$TEST_TMP/cache

for mode in $(nss_modes); do
	echo "== $mode"
	# our users, without the files source's
	n=$(in_mode $mode "$CACHE" getent passwd | grep -c '^u[0-9]\{6\}:\*:')
	expect_eq "$mode users enumerated" $N_USERS "$n"
	last=$(in_mode $mode "$CACHE" getent passwd u099999)
	expect_eq "$mode last user" \
		"u099999:*:199999:199999:User 99999:/home/u99999:/bin/sh" "$last"

	out=$(in_mode $mode "$CACHE" getent group bigteam)
	n=$(echo "$out" | cut -d: -f4 | tr ',' '\n' | grep -c .)
	expect_eq "$mode bigteam members" $N_MEMBERS "$n"
	expect_contains "$mode bigteam" "bigteam:*:3000000:u000000,u000001," \
		"$out"

	n=$(in_mode $mode "$CACHE" getent initgroups many | wc -w)
	expect_eq "$mode initgroups many" $((N_GROUPS + 1)) "$n"
	n=$(in_mode $mode "$CACHE" id -G many | wc -w)
	expect_eq "$mode id -G many" $((N_GROUPS + 1)) "$n"
	out=$(in_mode $mode "$CACHE" $(our_prefix) "$LOOKUP" show gl:many)
	n=$(echo "$out" | tr ',' '\n' | grep -c .)
	expect_eq "$mode getgrouplist many" $N_GROUPS "$n"
done

case " $(nss_modes) " in
*" ns "*)
	out=$(in_mode ns "$CACHE" $(our_prefix) "$LOOKUP" erange u000001 \
		bigteam) || fail "ERANGE handling: $out"
	expect_eq "getgrnam after ERANGE" "bigteam $N_MEMBERS members" "$out"
	;;
esac
exit 0
