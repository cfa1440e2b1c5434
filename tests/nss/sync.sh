#!/bin/sh
# orgauthctl sync and cache with the sample directory, seen through the
# NSS module: walt (labelforce, a Workforce organisation) appears in
# acme-workforce while he is a member of acme's project apollo and
# disappears when that membership goes; GIDs stay put; a directory with
# problems or a changed Workforce category leaves the old cache in place.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/nss/nss-lib.sh"

LDIF=$TEST_TMP/directory.ldif
CACHE=$TEST_TMP/state/cache
CONF=$TEST_TMP/orgauth.conf
cp "$top_srcdir/examples/directory.ldif" "$LDIF"
cat >"$CONF" <<EOC
directory_ldif = $LDIF
cache_file = $CACHE
EOC
sync_ok() {
	octl --config "$CONF" sync "$@" >"$TEST_TMP/sync.out" 2>&1 ||
		fail "sync: $(cat "$TEST_TMP/sync.out")"
}

# no cache yet
rc=0
octl --config "$CONF" cache >/dev/null 2>&1 || rc=$?
expect_eq "cache before any sync" 1 $rc

sync_ok
expect_eq "cache mode" "644" "$(stat -c %a "$CACHE")"
out=$(octl --config "$CONF" cache) || fail "cache: $out"
expect_contains "cache summary" "users:         10" "$out"
expect_contains "cache summary" "verified:      yes" "$out"
octl --config "$CONF" cache --groups >"$TEST_TMP/groups.1" ||
	fail "cache --groups"

for mode in $(nss_modes); do
	out=$(in_mode $mode "$CACHE" getent group acme-workforce)
	expect_contains "$mode: walt in acme-workforce" ":walt,wendy" "$out"
	out=$(in_mode $mode "$CACHE" id walt)
	expect_contains "$mode: id walt" "(acme-workforce)" "$out"
done
wf_gid=$(in_mode wrapper "$CACHE" getent group acme-workforce | cut -d: -f3)

# walt leaves apollo: no workforce role in acme any more
cp "$CACHE" "$TEST_TMP/cache.1"
grep -v '^orgauthAnnotator: uid=walt,' "$top_srcdir/examples/directory.ldif" \
	>"$LDIF"
sync_ok
for mode in $(nss_modes); do
	out=$(in_mode $mode "$CACHE" getent group acme-workforce)
	expect_eq "$mode: acme-workforce without walt" \
		"acme-workforce:*:$wf_gid:wendy" "$out"
	out=$(in_mode $mode "$CACHE" id walt)
	case $out in
	*acme-workforce*) fail "$mode: id walt still shows acme-workforce" ;;
	esac
	out=$(in_mode $mode "$CACHE" getent group acme-proj-apollo)
	case $out in
	*walt*) fail "$mode: walt still in acme-proj-apollo" ;;
	esac
done

# GIDs depend on group names only: an unrelated project changes none
cp "$top_srcdir/examples/directory.ldif" "$LDIF"
cat >>"$LDIF" <<'EOL'

dn: cn=newproj,ou=projects,dc=example,dc=org
objectClass: orgauthProject
cn: newproj
orgauthOwner: o=globex,ou=organisations,dc=example,dc=org
orgauthAdmin: uid=gina,ou=people,dc=example,dc=org
EOL
sync_ok
octl --config "$CONF" cache --groups >"$TEST_TMP/groups.2" ||
	fail "cache --groups"
grep -v '^globex-proj-newproj ' "$TEST_TMP/groups.2" |
	sed 's/ members=.*//' >"$TEST_TMP/gids.2"
sed 's/ members=.*//' "$TEST_TMP/groups.1" >"$TEST_TMP/gids.1"
cmp -s "$TEST_TMP/gids.1" "$TEST_TMP/gids.2" ||
	fail "GIDs moved: $(diff "$TEST_TMP/gids.1" "$TEST_TMP/gids.2")"
grep -q '^globex-proj-newproj gid=20' "$TEST_TMP/groups.2" ||
	fail "no group for the new project"

# a GID range too small for the groups: every clash named, nothing written
cp "$CACHE" "$TEST_TMP/cache.good"
printf 'directory_ldif = %s\ncache_file = %s\ngid_min = 5000000\ngid_max = 5000000\n' \
	"$LDIF" "$CACHE" >"$TEST_TMP/narrow.conf"
rc=0
octl --config "$TEST_TMP/narrow.conf" sync >"$TEST_TMP/out" 2>&1 || rc=$?
expect_eq "sync with clashing GIDs" 1 $rc
expect_contains "GID clash names both groups" \
	"groups acme-admin (role admin of organisation acme) and acme-data-faces (dataset faces of organisation acme) hash to the same GID 5000000" \
	"$(cat "$TEST_TMP/out")"
cmp -s "$CACHE" "$TEST_TMP/cache.good" || fail "the cache changed"

# a directory with a problem: exit 1, the cache untouched
cp "$CACHE" "$TEST_TMP/cache.good"
sed 's/^orgauthOwner: o=acme,/orgauthOwner: o=nosuchorg,/' \
	"$top_srcdir/examples/directory.ldif" >"$LDIF"
rc=0
octl --config "$CONF" sync >"$TEST_TMP/out" 2>&1 || rc=$?
expect_eq "sync of a broken directory" 1 $rc
expect_contains "sync names the problem" "o=nosuchorg" "$(cat "$TEST_TMP/out")"
cmp -s "$CACHE" "$TEST_TMP/cache.good" || fail "the cache changed"

# labelforce stops being a Workforce organisation: refused, then allowed
sed '/^description: Labelforce/{n;s/^orgauthWorkforce: TRUE/orgauthWorkforce: FALSE/}' \
	"$top_srcdir/examples/directory.ldif" >"$LDIF"
grep -q 'orgauthWorkforce: TRUE' "$LDIF" && broken "fixture edit failed"
rc=0
octl --config "$CONF" sync >"$TEST_TMP/out" 2>&1 || rc=$?
expect_eq "sync with a category change" 1 $rc
expect_contains "category change message" \
	"organisation labelforce: Workforce category changed from yes to no" \
	"$(cat "$TEST_TMP/out")"
cmp -s "$CACHE" "$TEST_TMP/cache.good" || fail "the cache changed"
sync_ok --allow-category-change
out=$(octl --config "$CONF" cache --orgs)
expect_contains "category after the override" "labelforce workforce=no" \
	"$out"
out=$(in_mode wrapper "$CACHE" getent group acme-workforce || :)
expect_eq "no workforce role without a Workforce organisation" "" "$out"

# a damaged cache is reported by `orgauthctl cache`
head -c 1000 "$TEST_TMP/cache.good" >"$CACHE"
rc=0
out=$(octl --config "$CONF" cache 2>&1) || rc=$?
expect_eq "cache of a damaged file" 1 $rc
expect_contains "cache of a damaged file" "damaged" "$out"
exit 0
