#!/bin/sh
# Benchmark (not part of make check): passwd and group lookups through
# glibc answered by libnss_orgauth.so.2, by glibc's own files module over
# the same data in /etc/passwd and /etc/group, and by libnss-cache (Debian
# package libnss-cache) over the same data in /etc/passwd.cache and
# /etc/group.cache, where it is installed.  Runs as root in a private
# mount namespace with an overlay on /etc: the host's files are not
# touched.  See tests/bench/README.md.
#     tests/bench/nss.sh BUILD-DIR [USERS GROUPS MEMBERS]
set -eu
if [ "${1:-}" = --inside ]; then
	# inside the namespace: $2 work folder, $3.. the sizes
	tmp=$2
	users=$3
	groups=$4
	mkdir -p "$tmp/ovl/upper" "$tmp/ovl/work"
	mount -t overlay orgauth-bench-etc \
		-o "lowerdir=/etc,upperdir=$tmp/ovl/upper,workdir=$tmp/ovl/work" /etc
	cp "$tmp/passwd" /etc/passwd
	cp "$tmp/group" /etc/group
	cp "$tmp/passwd" /etc/passwd.cache
	cp "$tmp/group" /etc/group.cache
	for backend in orgauth files cache; do
		if [ $backend = cache ] &&
			! ls /usr/lib/*/libnss_cache.so.2 >/dev/null 2>&1; then
			echo "== cache: libnss-cache not installed, skipped"
			continue
		fi
		printf 'passwd: %s\ngroup: %s\n' $backend $backend \
			>/etc/nsswitch.conf
		echo "== $backend"
		LD_LIBRARY_PATH="$tmp/lib" ORGAUTH_CACHE="$tmp/cache" \
			"$tmp/nss_bench" 2000000 "$users" "$groups" |
			tee "$tmp/result.$backend"
	done
	exit 0
fi

build=$(cd "${1:?usage: nss.sh BUILD-DIR [USERS GROUPS MEMBERS]}" && pwd)
users=${2:-10000}
groups=${3:-1000}
members=${4:-20}
src=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "nss.sh: run as root" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/orgauth-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lib"
cp "$build/nss_module/.libs/libnss_orgauth.so.2" "$tmp/lib/"
cc -O2 -o "$tmp/nss_bench" "$src/nss_bench.c"

# One data set, three forms: mkcache's description, passwd and group.
awk -v U="$users" -v G="$groups" -v M="$members" -v tmp="$tmp" 'BEGIN {
	OFS = "\t"
	srand(7)
	print "org", "bench", 0, 0 > (tmp "/desc")
	print "root:x:0:0:root:/root:/bin/sh" > (tmp "/passwd")
	print "root:x:0:" > (tmp "/group")
	for (u = 0; u < U; u++) {
		name = sprintf("u%06d", u)
		print "user", name, 100000 + u, 100, "User " u, "/home/" name, \
			"/bin/sh" > (tmp "/desc")
		printf "%s:*:%d:100:User %d:/home/%s:/bin/sh\n", name, \
			100000 + u, u, name > (tmp "/passwd")
	}
	for (g = 0; g < G; g++) {
		list = ""
		for (k = 0; k < M; k++)
			list = list (k ? "," : "") sprintf("u%06d", int(rand() * U))
		# every user in at least one group (getgrouplist finds some)
		for (u = g; u < U; u += G)
			list = list "," sprintf("u%06d", u)
		name = sprintf("g%05d", g)
		print "group", name, 3000000 + g, "project", "bench", \
			list > (tmp "/desc")
		printf "%s:*:%d:%s\n", name, 3000000 + g, list > (tmp "/group")
	}
}'
# mkcache wants each member once per group
awk -F '\t' 'BEGIN { OFS = "\t" }
$1 == "group" {
	n = split($6, m, ","); out = ""; delete seen
	for (i = 1; i <= n; i++)
		if (!(m[i] in seen)) { seen[m[i]] = 1; out = out (out ? "," : "") m[i] }
	$6 = out
}
{ print }' "$tmp/desc" | "$build/tests/mkcache" "$tmp/cache"

echo "$users users, $groups groups of about $((members + users / groups)) members"
unshare -m --propagation private sh "$0" --inside "$tmp" "$users" "$groups"

echo "== ratios (files / orgauth, cache / orgauth)"
for kind in getpwnam_r getpwuid_r getgrnam_r getgrgid_r getgrouplist; do
	o=$(awk -v k=$kind '$1 == k { print $4 }' "$tmp/result.orgauth")
	f=$(awk -v k=$kind '$1 == k { print $4 }' "$tmp/result.files")
	c=$(awk -v k=$kind '$1 == k { print $4 }' "$tmp/result.cache" \
		2>/dev/null || :)
	awk -v k=$kind -v o="$o" -v f="$f" -v c="${c:-0}" 'BEGIN {
		printf "%-13s files %8.1fx", k, f / o
		if (c > 0)
			printf "   libnss-cache %8.1fx", c / o
		printf "\n"
	}'
done
