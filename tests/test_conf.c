/*
 * The orgauth.conf parser: every problem reported with file and line, the
 * values of a valid file, and the sample configuration of examples/.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

static int failures;
static char tmpdir[] = "/tmp/orgauth-conf-test.XXXXXX";
static char problems[8192];

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			failures++;                                            \
		}                                                              \
	} while (0)

static void
check_str(int line, const char *what, const char *want, const char *got)
{
	if (strcmp(want, got) == 0)
		return;
	fprintf(stderr, "%s:%d: %s:\n--- expected\n%s--- got\n%s---\n",
		__FILE__, line, what, want, got);
	failures++;
}
#define CHECK_STR(what, want, got) check_str(__LINE__, what, want, got)

/* Collects "basename:line: message" lines. */
static void
collect(void *ctx, const char *file, unsigned line, const char *message)
{
	const char *base = strrchr(file, '/');
	size_t used = strlen(problems);

	(void)ctx;
	base = base != NULL ? base + 1 : file;
	snprintf(problems + used, sizeof(problems) - used, "%s:%u: %s\n", base,
		 line, message);
}

/* Writes len bytes of text to tmpdir/name and loads it. */
static int
load_bytes(struct oa_conf *conf, const char *name, const char *text, size_t len)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	if (fp == NULL || fwrite(text, 1, len, fp) != len || fclose(fp) != 0) {
		perror(path);
		exit(99);
	}
	problems[0] = '\0';
	return oa_conf_load(conf, path, collect, NULL);
}

static int
load(struct oa_conf *conf, const char *text)
{
	return load_bytes(conf, "t.conf", text, strlen(text));
}

static void
test_valid(void)
{
	struct oa_conf c;

	CHECK(load(&c, "# a comment\n"
		       "\n"
		       "  host_organisation = acme  \n"
		       "directory=ldap\n"
		       "ldap_uri = ldaps://a.example ldaps://b.example\n"
		       "allowed_roles = admin, workforce\n"
		       "otp_digits = 8\n"
		       "gid_min = 3000000\n"
		       "gid_max = 3000999\r\n"
		       "ldap_starttls = no\n"
		       "mfa_grace_until = 2030-02-28\n"
		       "otp_type = hotp\n"
		       "map_user_name = sAMAccountName\n"
		       "cache_file = /tmp/x/cache") == 0);
	CHECK_STR("problems", "", problems);
	CHECK_STR("host", "acme", c.host_organisation);
	CHECK(c.directory_source == OA_DIR_LDAP);
	CHECK_STR("uri", "ldaps://a.example ldaps://b.example", c.ldap_uri);
	CHECK(c.allowed_roles == (OA_ROLE_ADMIN | OA_ROLE_WORKFORCE));
	CHECK(c.otp_digits == 8);
	CHECK(c.gid_min == 3000000 && c.gid_max == 3000999);
	CHECK(!c.ldap_starttls);
	CHECK(c.mfa_grace_until == 1898467200); /* 2030-02-28 UTC */
	CHECK(c.otp_kind == OA_OTP_HOTP);
	CHECK_STR("map", "sAMAccountName", c.map.user_name);
	CHECK_STR("cache", "/tmp/x/cache", c.cache_file);
	/* untouched keys keep their defaults */
	CHECK(c.otp_period == 30);
	CHECK_STR("template", "%o-%r", c.role_group_template);
}

static void
test_problems(void)
{
	struct oa_conf c;

	CHECK(load(&c, "host_organisation = acme\n"
		       "colour = blue\n"
		       "host_organisation = globex\n"
		       "otp_digits = 7x\n"
		       "otp_digits2 = 6\n"
		       "otp_period = -1\n"
		       "otp_window = 99999999999999999999999\n"
		       "lockout_failures = 0\n"
		       "cache_file = var/cache\n"
		       "ldap_starttls = maybe\n"
		       "otp_type = sms\n"
		       "mfa_grace_until = 2024-02-30\n"
		       "allowed_roles = admin, root\n"
		       "just some words\n"
		       "otp_issuer =\n") < 0);
	CHECK_STR("problems",
		  "t.conf:2: unknown key 'colour'\n"
		  "t.conf:3: host_organisation is set twice\n"
		  "t.conf:4: otp_digits: '7x' is not a number from 6 to 8\n"
		  "t.conf:5: unknown key 'otp_digits2'\n"
		  "t.conf:6: otp_period: '-1' is not a number from 10 to 300\n"
		  "t.conf:7: otp_window: '99999999999999999999999' is not a "
		  "number from 0 to 10\n"
		  "t.conf:8: lockout_failures: '0' is not a number from 1 to "
		  "1000\n"
		  "t.conf:9: cache_file: 'var/cache' is not an absolute path\n"
		  "t.conf:10: ldap_starttls: 'maybe' is not yes or no\n"
		  "t.conf:11: otp_type: 'sms' is not one of the accepted "
		  "values\n"
		  "t.conf:12: mfa_grace_until: '2024-02-30' is not a date "
		  "(YYYY-MM-DD)\n"
		  "t.conf:13: allowed_roles: 'admin, root' is not 'any' or a "
		  "list of admin, member, workforce\n"
		  "t.conf:14: expected 'key = value'\n"
		  "t.conf:15: otp_issuer: empty value\n",
		  problems);
}

static void
test_consistency(void)
{
	struct oa_conf c;

	CHECK(load(&c, "gid_min = 5000\n"
		       "gid_max = 4000\n"
		       "directory = ldap\n"
		       "role_group_template = %o-%x\n"
		       "project_group_template = proj\n") < 0);
	CHECK_STR("problems",
		  "t.conf:0: role_group_template: '%o-%x' holds an escape "
		  "other than %o, %r and %%\n"
		  "t.conf:0: project_group_template: 'proj' lacks %n\n"
		  "t.conf:0: gid_min 5000 is above gid_max 4000\n"
		  "t.conf:0: directory = ldap needs ldap_uri\n",
		  problems);

	/*
	 * The account rules are rules on host_organisation: without it the
	 * PAM module checks nothing, so a host that sets them alone would
	 * let everyone in while its administrator thinks otherwise.
	 */
	CHECK(load(&c, "required_project = apollo\n"
		       "required_dataset = faces\n"
		       "allowed_roles = admin\n") < 0);
	CHECK_STR("rules without host",
		  "t.conf:0: required_project needs host_organisation\n"
		  "t.conf:0: required_dataset needs host_organisation\n"
		  "t.conf:0: allowed_roles needs host_organisation\n",
		  problems);
	CHECK(load(&c, "allowed_roles = any\n") == 0);
	CHECK(load(&c, "host_organisation = acme\n"
		       "required_project = apollo\n"
		       "allowed_roles = admin\n") == 0);
}

static void
test_lines(void)
{
	static const char nul[] = "otp_digits = 6\0junk\nhost_organisation = "
				  "acme\n";
	struct oa_conf c;
	char *big;

	/* a NUL refuses its own line and only that one */
	CHECK(load_bytes(&c, "nul.conf", nul, sizeof(nul) - 1) < 0);
	CHECK_STR("nul", "nul.conf:1: line holds a NUL byte\n", problems);
	CHECK_STR("after nul", "acme", c.host_organisation);

	big = malloc(5000);
	if (big == NULL)
		exit(99);
	memset(big, 'x', 5000);
	memcpy(big, "otp_issuer = ", 13);
	memcpy(big + 4980, "\notp_digits = 8\n", 16);
	CHECK(load_bytes(&c, "long.conf", big, 4996) < 0);
	CHECK_STR("long", "long.conf:1: line longer than 2047 characters\n",
		  problems);
	CHECK(c.otp_digits == 8);
	free(big);

	/* a last line without a newline still counts */
	CHECK(load(&c, "otp_digits = 8") == 0);
	CHECK(c.otp_digits == 8);
	/* an empty file is the defaults */
	CHECK(load(&c, "") == 0);
	CHECK_STR("empty", "", problems);
}

static void
test_files(void)
{
	char path[600];
	struct oa_conf c;
	const char *src = getenv("top_srcdir");

	problems[0] = '\0';
	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	CHECK(oa_conf_load(&c, path, collect, NULL) < 0);
	CHECK_STR("missing",
		  "missing.conf:0: cannot open: No such file or directory\n",
		  problems);

	problems[0] = '\0';
	CHECK(oa_conf_load(&c, tmpdir, collect, NULL) < 0);
	CHECK(strstr(problems, ": not a regular file\n") != NULL);

	/* the shipped sample is valid */
	if (src != NULL) {
		problems[0] = '\0';
		snprintf(path, sizeof(path), "%s/examples/orgauth.conf", src);
		CHECK(oa_conf_load(&c, path, collect, NULL) == 0);
		CHECK_STR("sample", "", problems);
		CHECK_STR("sample host", "acme", c.host_organisation);
	}
}

int
main(void)
{
	char cmd[128];

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	test_valid();
	test_problems();
	test_consistency();
	test_lines();
	test_files();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	if (failures > 0)
		fprintf(stderr, "%d checks failed\n", failures);
	return failures > 0 ? 1 : 0;
}
