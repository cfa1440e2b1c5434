#!/bin/sh
# Benchmark (not part of make check): a generated directory of USERS users
# in ORGS organisations (one in ten a Workforce organisation) with
# PROJECTS projects of 20 members each; times orgauthctl check, user, org.
#     tests/bench/directory.sh BUILD-DIR [USERS ORGS PROJECTS]
set -eu
build=${1:?usage: directory.sh BUILD-DIR [USERS ORGS PROJECTS]}
users=${2:-100000}
orgs=${3:-1000}
projects=${4:-10000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/orgauth-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

awk -v U="$users" -v O="$orgs" -v P="$projects" 'BEGIN {
	srand(7)
	for (o = 0; o < O; o++) {
		printf "dn: o=org%d,dc=b\nobjectClass: orgauthOrganization\n", o
		printf "o: org%d\norgauthWorkforce: %s\n", o, (o % 10 == 0 ? "TRUE" : "FALSE")
		for (u = o; u < U; u += O)
			printf "%s: uid=u%d,ou=people,dc=b\n", (u == o ? "orgauthAdmin" : "orgauthMember"), u
		printf "\n"
	}
	for (u = 0; u < U; u++)
		printf "dn: uid=u%d,ou=people,dc=b\nobjectClass: posixAccount\nuid: u%d\nuidNumber: %d\ngidNumber: 100\nhomeDirectory: /home/u%d\nloginShell: /bin/bash\n\n", u, u, 100000 + u, u
	for (p = 0; p < P; p++) {
		printf "dn: cn=p%d,ou=projects,dc=b\nobjectClass: orgauthProject\ncn: p%d\norgauthOwner: o=org%d,dc=b\n", p, p, p % O
		for (k = 0; k < 20; k++)
			printf "orgauthAnnotator: uid=u%d,ou=people,dc=b\n", int(rand() * U)
		printf "\n"
	}
}' >"$tmp/dir.ldif"
printf 'directory_ldif = %s\n' "$tmp/dir.ldif" >"$tmp/orgauth.conf"
echo "$(wc -c <"$tmp/dir.ldif") bytes, $users users, $orgs organisations, $projects projects"
for cmd in check "user u10" "org org0"; do
	/usr/bin/time -f "orgauthctl $cmd: %e s, %M KiB max RSS" \
		"$build/orgauthctl" --config "$tmp/orgauth.conf" $cmd >/dev/null
done
