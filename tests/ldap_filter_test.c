/*
 * Unit tests of the LDAP source's filter escaping (RFC 4515) and of the
 * class filters built from the mapping.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ldap_source.h"

static int failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			failures++;                                            \
		}                                                              \
	} while (0)

static void
check_escape(const char *in, size_t len, const char *want)
{
	char out[256];
	ssize_t n = oa_ldap_escape_value(out, sizeof(out), in, len);

	if (n < 0 || strcmp(out, want) != 0 || (size_t)n != strlen(want)) {
		fprintf(stderr, "escape: got [%s] (%zd), want [%s]\n", out, n,
			want);
		failures++;
	}
}

static void
test_escape(void)
{
	char out[8];

	check_escape("alice", 5, "alice");
	check_escape("", 0, "");
	check_escape("*", 1, "\\2a");
	check_escape("a*b", 3, "a\\2ab");
	check_escape("(x)", 3, "\\28x\\29");
	check_escape("\\", 1, "\\5c");
	check_escape("\\2a", 3, "\\5c2a");
	/* An embedded NUL is escaped, not a place where the value ends. */
	check_escape("ab\0*", 4, "ab\\00\\2a");
	check_escape("*)(uid=*", 8, "\\2a\\29\\28uid=\\2a");
	/* UTF-8 and other bytes pass as they are. */
	check_escape("J\xc3\xb6rg", 5, "J\xc3\xb6rg");

	/* Exactly filling the buffer: 7 characters and the NUL fit... */
	CHECK(oa_ldap_escape_value(out, sizeof(out), "abcdefg", 7) == 7);
	CHECK(strcmp(out, "abcdefg") == 0);
	/* ...8 do not, and the output is then empty, never cut short. */
	CHECK(oa_ldap_escape_value(out, sizeof(out), "abcdefgh", 8) == -1);
	CHECK(out[0] == '\0');
	/* An escape sequence is never split at the end of the buffer. */
	CHECK(oa_ldap_escape_value(out, sizeof(out), "abcde*", 6) == -1);
	CHECK(out[0] == '\0');
	CHECK(oa_ldap_escape_value(out, 0, "a", 1) == -1);
}

static void
test_class_filter(void)
{
	char out[256];

	CHECK(oa_ldap_class_filter(out, sizeof(out), "posixAccount", NULL) ==
	      0);
	CHECK(strcmp(out, "(&(objectClass=posixAccount))") == 0);
	CHECK(oa_ldap_class_filter(out, sizeof(out), "posixAccount", "") == 0);
	CHECK(strcmp(out, "(&(objectClass=posixAccount))") == 0);
	CHECK(oa_ldap_class_filter(out, sizeof(out), "posixAccount",
				   "(ou=staff)") == 0);
	CHECK(strcmp(out, "(&(objectClass=posixAccount)(ou=staff))") == 0);
	/* A class name cannot widen the search. */
	CHECK(oa_ldap_class_filter(out, sizeof(out), "*", NULL) == 0);
	CHECK(strcmp(out, "(&(objectClass=\\2a))") == 0);
	CHECK(oa_ldap_class_filter(out, sizeof(out), "x)(|(objectClass=*",
				   NULL) == 0);
	CHECK(strcmp(out, "(&(objectClass=x\\29\\28|\\28objectClass=\\2a))") ==
	      0);
	/* The extra filter must be one parenthesised item. */
	CHECK(oa_ldap_class_filter(out, sizeof(out), "posixAccount",
				   "ou=staff") == -1);
	CHECK(oa_ldap_class_filter(out, sizeof(out), "posixAccount",
				   "(ou=staff") == -1);
	CHECK(oa_ldap_class_filter(out, sizeof(out), "posixAccount",
				   "(ou=a)(ou=b)") == -1);
	CHECK(oa_ldap_class_filter(out, sizeof(out), "posixAccount",
				   "(ou=a))(|(ou=b)") == -1);
	CHECK(oa_ldap_class_filter(out, sizeof(out), "posixAccount",
				   "(ou=a)))") == -1);
	CHECK(oa_ldap_class_filter(out, sizeof(out), "posixAccount",
				   "(|(ou=a)(!(ou=b)))") == 0);
	CHECK(strcmp(out, "(&(objectClass=posixAccount)(|(ou=a)(!(ou=b))))") ==
	      0);
	/* An escaped parenthesis is part of a value, not structure. */
	CHECK(oa_ldap_class_filter(out, sizeof(out), "posixAccount",
				   "(cn=a\\29b)") == 0);
	/* Too small: an error, not a truncated filter. */
	CHECK(oa_ldap_class_filter(out, 20, "posixAccount", NULL) == -1);
	CHECK(out[0] == '\0');
}

int
main(void)
{
	test_escape();
	test_class_filter();
	if (failures > 0) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	return 0;
}
