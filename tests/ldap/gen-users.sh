#!/bin/sh
# gen-users.sh COUNT ORG: LDIF of an organisation named ORG (not Workforce,
# no MFA) under ou=orgs,dc=example,dc=org with COUNT users under
# ou=people: bulk00000 is its admin, the others its members.  Quick enough
# to make a directory far above a server's size limit at test time.
set -eu
count=$1
org=$2
base="dc=example,dc=org"
awk -v count="$count" -v org="$org" -v base="$base" 'BEGIN {
	printf "dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n", base
	printf "dn: ou=orgs,%s\nobjectClass: organizationalUnit\nou: orgs\n\n", base
	for (i = 0; i < count; i++) {
		u = sprintf("bulk%05d", i)
		printf "dn: uid=%s,ou=people,%s\n", u, base
		printf "objectClass: inetOrgPerson\nobjectClass: posixAccount\n"
		printf "objectClass: orgauthUser\n"
		printf "uid: %s\ncn: Bulk User %d\nsn: User%d\n", u, i, i
		printf "uidNumber: %d\ngidNumber: %d\n", 100000 + i, 100000 + i
		printf "homeDirectory: /home/%s\nloginShell: /bin/sh\n\n", u
	}
	printf "dn: o=%s,ou=orgs,%s\nobjectClass: orgauthOrganization\n", org, base
	printf "o: %s\norgauthWorkforce: FALSE\norgauthMfaRequired: FALSE\n", org
	printf "orgauthAdmin: uid=bulk00000,ou=people,%s\n", base
	for (i = 1; i < count; i++)
		printf "orgauthMember: uid=bulk%05d,ou=people,%s\n", i, base
	printf "\n"
}'
