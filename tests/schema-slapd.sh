#!/bin/sh
# examples/orgauth-schema.ldif and examples/directory.ldif load into an
# OpenLDAP configuration with slapadd: offline, no server is started.
. "$top_srcdir/tests/lib.sh"

for t in slapadd slapcat; do
	command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] ||
		skip "$t is not installed (Debian package slapd)"
done
PATH="$PATH:/usr/sbin"
schema=/etc/ldap/schema
[ -r "$schema/nis.ldif" ] || skip "no OpenLDAP schema in $schema"

conf="$TEST_TMP/slapd.d"
db="$TEST_TMP/db"
mkdir -p "$conf" "$db"
cat >"$TEST_TMP/config.ldif" <<EOC
dn: cn=config
objectClass: olcGlobal
cn: config

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://$schema/core.ldif
include: file://$schema/cosine.ldif
include: file://$schema/nis.ldif
include: file://$schema/inetorgperson.ldif
include: file://$top_srcdir/examples/orgauth-schema.ldif

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: dc=example,dc=org
olcDbDirectory: $db
EOC
slapadd -n0 -F "$conf" -l "$TEST_TMP/config.ldif" >"$TEST_TMP/log" 2>&1 ||
	fail "schema: $(cat "$TEST_TMP/log")"
slapadd -n1 -F "$conf" -l "$top_srcdir/examples/directory.ldif" \
	>"$TEST_TMP/log" 2>&1 || fail "directory: $(cat "$TEST_TMP/log")"
slapcat -n1 -F "$conf" -l "$TEST_TMP/dump.ldif" >"$TEST_TMP/log" 2>&1 ||
	fail "slapcat: $(cat "$TEST_TMP/log")"

# what slapd holds reads back as the same directory
cat >"$TEST_TMP/orgauth.conf" <<EOC
directory_ldif = $TEST_TMP/dump.ldif
EOC
octl --config "$TEST_TMP/orgauth.conf" check >"$TEST_TMP/out" 2>&1 ||
	fail "orgauthctl check on slapcat output: $(cat "$TEST_TMP/out")"
expect_contains "counts" "3 organisations, 10 users, 4 projects, 1 dataset" \
	"$(cat "$TEST_TMP/out")"
octl --config "$TEST_TMP/orgauth.conf" user wendy >"$TEST_TMP/out" ||
	fail "user wendy"
diff -u "$top_srcdir/tests/expected/user-wendy.out" "$TEST_TMP/out" ||
	fail "wendy differs after a round trip through slapd"

# the server enforces the schema: a project without an owner is refused
printf 'dn: cn=bad,ou=projects,dc=example,dc=org\nobjectClass: orgauthProject\ncn: bad\n' \
	>"$TEST_TMP/bad.ldif"
if slapadd -n1 -F "$conf" -l "$TEST_TMP/bad.ldif" >"$TEST_TMP/log" 2>&1; then
	fail "slapadd took a project without orgauthOwner"
fi
expect_contains "schema check" "orgauthOwner" "$(cat "$TEST_TMP/log")"
exit 0
