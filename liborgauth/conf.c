/*
 * The orgauth.conf parser: "key = value" lines, '#' comments, blank lines.
 * Table-driven: a key is one row of conf_keys[] naming its field and type.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

#define CONF_MAX_BYTES (256 * 1024)
#define CONF_LINE_MAX  2048

enum key_type {
	KEY_STRING, /* any non-empty text up to the field size */
	KEY_PATH,   /* an absolute path */
	KEY_UINT,   /* decimal, inside [min, max] */
	KEY_BOOL,   /* yes/no, true/false, on/off, 1/0 */
	KEY_ENUM,   /* one of choices, stored as its index */
	KEY_DATE,   /* YYYY-MM-DD, UTC midnight; "none" for 0 */
	KEY_ROLES,  /* "any" or a comma list of role names */
};

struct key_def {
	const char *name;
	enum key_type type;
	size_t offset;
	size_t size;
	unsigned long min, max;
	const char *const *choices;
};

static const char *const dir_sources[] = {"ldif", "ldap", NULL};
static const char *const mfa_scopes[] = {"any", "host", NULL};
static const char *const unenrolled_modes[] = {"enrol", "deny", NULL};
static const char *const unknown_modes[] = {"ignore", "deny", NULL};
static const char *const otp_kinds[] = {"totp", "hotp", NULL};

#define FIELD(f) offsetof(struct oa_conf, f), sizeof(((struct oa_conf *)0)->f)
/* one table row per line: keep these short */
/* clang-format off */
#define STR(k, f) {k, KEY_STRING, FIELD(f), 0, 0, NULL}
#define PATH(k, f) {k, KEY_PATH, FIELD(f), 0, 0, NULL}
#define UINT(k, f, lo, hi) {k, KEY_UINT, FIELD(f), lo, hi, NULL}
#define BOOL(k, f) {k, KEY_BOOL, FIELD(f), 0, 0, NULL}
#define ENUM(k, f, c) {k, KEY_ENUM, FIELD(f), 0, 0, c}
#define MAP(k) STR("map_" #k, map.k)
/* clang-format on */

static const struct key_def conf_keys[] = {
    ENUM("directory", directory_source, dir_sources),
    PATH("directory_ldif", directory_ldif),
    PATH("cache_file", cache_file),
    PATH("mfa_dir", mfa_dir),
    PATH("host_key_file", host_key_file),
    STR("role_group_template", role_group_template),
    STR("project_group_template", project_group_template),
    STR("dataset_group_template", dataset_group_template),
    UINT("gid_min", gid_min, 1000, 4294967294u),
    UINT("gid_max", gid_max, 1000, 4294967294u),
    STR("host_organisation", host_organisation),
    {"allowed_roles", KEY_ROLES, FIELD(allowed_roles), 0, 0, NULL},
    STR("required_project", required_project),
    STR("required_dataset", required_dataset),
    ENUM("unknown_users", unknown_users, unknown_modes),
    ENUM("mfa_scope", mfa_scope, mfa_scopes),
    ENUM("mfa_unenrolled", mfa_unenrolled, unenrolled_modes),
    {"mfa_grace_until", KEY_DATE, FIELD(mfa_grace_until), 0, 0, NULL},
    ENUM("otp_type", otp_kind, otp_kinds),
    UINT("otp_digits", otp_digits, 6, 8),
    UINT("otp_period", otp_period, 10, 300),
    UINT("otp_window", otp_window, 0, 10),
    UINT("lockout_failures", lockout_failures, 1, 1000),
    UINT("lockout_window", lockout_window, 1, 86400 * 7),
    UINT("lockout_duration", lockout_duration, 1, 86400 * 7),
    UINT("recovery_codes", recovery_codes, 0, 50),
    STR("otp_issuer", otp_issuer),
    STR("ldap_uri", ldap_uri),
    STR("ldap_base", ldap_base),
    STR("ldap_bind_dn", ldap_bind_dn),
    PATH("ldap_bind_password_file", ldap_bind_password_file),
    PATH("ldap_ca_file", ldap_ca_file),
    PATH("ldap_ca_dir", ldap_ca_dir),
    BOOL("ldap_starttls", ldap_starttls),
    BOOL("ldap_allow_plaintext", ldap_allow_plaintext),
    UINT("ldap_connect_timeout", ldap_connect_timeout, 1, 600),
    UINT("ldap_timeout", ldap_timeout, 1, 3600),
    UINT("ldap_page_size", ldap_page_size, 0, 100000),
    STR("ldap_user_base", ldap_user_base),
    STR("ldap_org_base", ldap_org_base),
    STR("ldap_project_base", ldap_project_base),
    STR("ldap_dataset_base", ldap_dataset_base),
    STR("ldap_user_filter", ldap_user_filter),
    STR("ldap_org_filter", ldap_org_filter),
    STR("ldap_project_filter", ldap_project_filter),
    STR("ldap_dataset_filter", ldap_dataset_filter),
    MAP(user_class),
    MAP(user_name),
    MAP(uid_number),
    MAP(gid_number),
    MAP(gecos),
    MAP(home),
    MAP(shell),
    MAP(org_class),
    MAP(org_name),
    MAP(org_workforce),
    MAP(org_mfa_required),
    MAP(org_admin),
    MAP(org_member),
    MAP(project_class),
    MAP(dataset_class),
    MAP(entity_name),
    MAP(owner),
    MAP(role_admin),
    MAP(role_team_manager),
    MAP(role_reviewer),
    MAP(role_annotator),
    MAP(role_annotator_reviewer),
    MAP(role_dataset_user),
    MAP(mfa_secret),
};

#define N_KEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

static void
copy_field(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

void
oa_conf_defaults(struct oa_conf *conf)
{
	struct oa_conf_mapping *m = &conf->map;

	memset(conf, 0, sizeof(*conf));
	conf->directory_source = OA_DIR_LDIF;
	copy_field(conf->directory_ldif, sizeof(conf->directory_ldif),
		   ORGAUTH_CONFDIR "/directory.ldif");
	copy_field(conf->cache_file, sizeof(conf->cache_file),
		   ORGAUTH_STATEDIR "/cache");
	copy_field(conf->mfa_dir, sizeof(conf->mfa_dir),
		   ORGAUTH_STATEDIR "/mfa");
	copy_field(conf->host_key_file, sizeof(conf->host_key_file),
		   ORGAUTH_STATEDIR "/host.key");
	copy_field(conf->role_group_template, sizeof(conf->role_group_template),
		   "%o-%r");
	copy_field(conf->project_group_template,
		   sizeof(conf->project_group_template), "%o-proj-%n");
	copy_field(conf->dataset_group_template,
		   sizeof(conf->dataset_group_template), "%o-data-%n");
	/* A block far above the ranges that useradd and sssd hand out. */
	conf->gid_min = 2000000000u;
	conf->gid_max = 2099999999u;
	conf->allowed_roles = OA_ROLE_ALL;
	conf->unknown_users = OA_UNKNOWN_IGNORE;
	conf->mfa_scope = OA_MFA_SCOPE_ANY;
	conf->mfa_unenrolled = OA_UNENROLLED_ENROL;
	conf->otp_kind = OA_OTP_TOTP;
	conf->otp_digits = 6;
	conf->otp_period = 30;
	conf->otp_window = 1;
	conf->lockout_failures = 5;
	conf->lockout_window = 300;
	conf->lockout_duration = 900;
	conf->recovery_codes = 10;
	copy_field(conf->otp_issuer, sizeof(conf->otp_issuer), "orgauth");
	conf->ldap_starttls = true;
	conf->ldap_allow_plaintext = false;
	conf->ldap_connect_timeout = 5;
	conf->ldap_timeout = 30;
	conf->ldap_page_size = 500;

	copy_field(m->user_class, sizeof(m->user_class), "posixAccount");
	copy_field(m->user_name, sizeof(m->user_name), "uid");
	copy_field(m->uid_number, sizeof(m->uid_number), "uidNumber");
	copy_field(m->gid_number, sizeof(m->gid_number), "gidNumber");
	copy_field(m->gecos, sizeof(m->gecos), "gecos");
	copy_field(m->home, sizeof(m->home), "homeDirectory");
	copy_field(m->shell, sizeof(m->shell), "loginShell");
	copy_field(m->org_class, sizeof(m->org_class), "orgauthOrganization");
	copy_field(m->org_name, sizeof(m->org_name), "o");
	copy_field(m->org_workforce, sizeof(m->org_workforce),
		   "orgauthWorkforce");
	copy_field(m->org_mfa_required, sizeof(m->org_mfa_required),
		   "orgauthMfaRequired");
	copy_field(m->org_admin, sizeof(m->org_admin), "orgauthAdmin");
	copy_field(m->org_member, sizeof(m->org_member), "orgauthMember");
	copy_field(m->project_class, sizeof(m->project_class),
		   "orgauthProject");
	copy_field(m->dataset_class, sizeof(m->dataset_class),
		   "orgauthDataset");
	copy_field(m->entity_name, sizeof(m->entity_name), "cn");
	copy_field(m->owner, sizeof(m->owner), "orgauthOwner");
	copy_field(m->role_admin, sizeof(m->role_admin), "orgauthAdmin");
	copy_field(m->role_team_manager, sizeof(m->role_team_manager),
		   "orgauthTeamManager");
	copy_field(m->role_reviewer, sizeof(m->role_reviewer),
		   "orgauthReviewer");
	copy_field(m->role_annotator, sizeof(m->role_annotator),
		   "orgauthAnnotator");
	copy_field(m->role_annotator_reviewer,
		   sizeof(m->role_annotator_reviewer),
		   "orgauthAnnotatorReviewer");
	copy_field(m->role_dataset_user, sizeof(m->role_dataset_user),
		   "orgauthDatasetUser");
	copy_field(m->mfa_secret, sizeof(m->mfa_secret), "orgauthMfaSecret");
}

const char *
oa_conf_default_path(void)
{
	return ORGAUTH_CONFDIR "/orgauth.conf";
}

const char *
oa_role_name(enum oa_org_role role)
{
	switch (role) {
	case OA_ROLE_ADMIN:
		return "admin";
	case OA_ROLE_MEMBER:
		return "member";
	case OA_ROLE_WORKFORCE:
		return "workforce";
	}
	return NULL;
}

struct parse_ctx {
	const char *file;
	unsigned line;
	oa_conf_report_fn *report;
	void *report_ctx;
	int problems;
};

static void problem(struct parse_ctx *pc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
problem(struct parse_ctx *pc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pc->problems++;
	if (pc->report != NULL)
		pc->report(pc->report_ctx, pc->file, pc->line, msg);
}

static int
parse_uint(const char *text, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
parse_date(const char *text, time_t *out)
{
	struct tm tm, check;
	char *end;
	time_t t;

	if (strcmp(text, "none") == 0) {
		*out = 0;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(text, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	check = tm;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	/* strptime takes 2024-02-31, which timegm makes March 2nd */
	if (tm.tm_mday != check.tm_mday || tm.tm_mon != check.tm_mon ||
	    tm.tm_year != check.tm_year)
		return -1;
	*out = t;
	return 0;
}

static int
parse_roles(const char *text, unsigned *out)
{
	char buf[OA_CONF_TEXT_LEN];
	char *tok, *save;
	unsigned roles = 0;

	if (strcmp(text, "any") == 0) {
		*out = OA_ROLE_ALL;
		return 0;
	}
	copy_field(buf, sizeof(buf), text);
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(tok, "admin") == 0)
			roles |= OA_ROLE_ADMIN;
		else if (strcmp(tok, "member") == 0)
			roles |= OA_ROLE_MEMBER;
		else if (strcmp(tok, "workforce") == 0)
			roles |= OA_ROLE_WORKFORCE;
		else
			return -1;
	}
	if (roles == 0)
		return -1;
	*out = roles;
	return 0;
}

static void
set_value(struct oa_conf *conf, const struct key_def *k, const char *value,
	  struct parse_ctx *pc)
{
	char *field = (char *)conf + k->offset;
	unsigned long n;
	size_t i;

	switch (k->type) {
	case KEY_PATH:
		if (value[0] != '/') {
			problem(pc, "%s: '%s' is not an absolute path", k->name,
				value);
			return;
		}
		/* fall through */
	case KEY_STRING:
		if (strlen(value) >= k->size) {
			problem(pc, "%s: value longer than %zu characters",
				k->name, k->size - 1);
			return;
		}
		copy_field(field, k->size, value);
		return;
	case KEY_UINT:
		if (parse_uint(value, &n) < 0 || n < k->min || n > k->max) {
			problem(pc, "%s: '%s' is not a number from %lu to %lu",
				k->name, value, k->min, k->max);
			return;
		}
		if (k->size == sizeof(uint32_t))
			*(uint32_t *)field = (uint32_t)n;
		else
			*(unsigned *)field = (unsigned)n;
		return;
	case KEY_BOOL:
		if (!strcmp(value, "yes") || !strcmp(value, "true") ||
		    !strcmp(value, "on") || !strcmp(value, "1"))
			*(bool *)field = true;
		else if (!strcmp(value, "no") || !strcmp(value, "false") ||
			 !strcmp(value, "off") || !strcmp(value, "0"))
			*(bool *)field = false;
		else
			problem(pc, "%s: '%s' is not yes or no", k->name,
				value);
		return;
	case KEY_ENUM:
		for (i = 0; k->choices[i] != NULL; i++) {
			if (strcmp(value, k->choices[i]) == 0) {
				*(int *)field = (int)i;
				return;
			}
		}
		problem(pc, "%s: '%s' is not one of the accepted values",
			k->name, value);
		return;
	case KEY_DATE:
		if (parse_date(value, (time_t *)field) < 0)
			problem(pc, "%s: '%s' is not a date (YYYY-MM-DD)",
				k->name, value);
		return;
	case KEY_ROLES:
		if (parse_roles(value, (unsigned *)field) < 0)
			problem(pc,
				"%s: '%s' is not 'any' or a list of admin, "
				"member, workforce",
				k->name, value);
		return;
	}
}

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

static void
parse_line(struct oa_conf *conf, char *line, unsigned char *seen,
	   struct parse_ctx *pc)
{
	char *eq, *key, *value;
	size_t i;

	key = trim(line);
	if (*key == '\0' || *key == '#')
		return;
	eq = strchr(key, '=');
	if (eq == NULL) {
		problem(pc, "expected 'key = value'");
		return;
	}
	*eq = '\0';
	key = trim(key);
	value = trim(eq + 1);
	for (i = 0; i < N_KEYS; i++) {
		if (strcmp(conf_keys[i].name, key) == 0)
			break;
	}
	if (i == N_KEYS) {
		problem(pc, "unknown key '%.64s'", key);
		return;
	}
	if (seen[i]) {
		problem(pc, "%s is set twice", key);
		return;
	}
	seen[i] = 1;
	if (*value == '\0') {
		problem(pc, "%s: empty value", key);
		return;
	}
	set_value(conf, &conf_keys[i], value, pc);
}

enum { LINE_OK, LINE_EOF, LINE_TOO_LONG, LINE_NUL };

/*
 * Reads one line (without its newline) into buf.  A line too long for buf
 * or holding a NUL byte is read to its end and refused as a whole: with
 * fgets() a NUL would hide the newline and swallow the next line.
 */
static int
read_line(FILE *fp, char *buf, size_t size)
{
	size_t len = 0;
	bool too_long = false, nul = false;
	int c;

	c = getc(fp);
	if (c == EOF)
		return LINE_EOF;
	for (; c != EOF && c != '\n'; c = getc(fp)) {
		if (c == '\0')
			nul = true;
		if (len + 1 < size)
			buf[len++] = (char)c;
		else
			too_long = true;
	}
	buf[len] = '\0';
	if (too_long)
		return LINE_TOO_LONG;
	return nul ? LINE_NUL : LINE_OK;
}

/*
 * A group name template may hold only the escapes of allowed (plus %%),
 * and must hold those of needed: without them every organisation (or
 * project) would map to one group name.
 */
static void
check_template(const char *key, const char *tmpl, const char *allowed,
	       const char *needed, struct parse_ctx *pc)
{
	const char *p;

	for (p = tmpl; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		p++;
		if (*p == '%')
			continue;
		if (*p == '\0' || strchr(allowed, *p) == NULL) {
			problem(pc, "%s: '%s' holds an escape other than %s",
				key, tmpl,
				allowed[1] == 'r' ? "%o, %r and %%"
						  : "%o, %n and %%");
			return;
		}
	}
	for (p = needed; *p != '\0'; p++) {
		char esc[3] = {'%', *p, '\0'};

		if (strstr(tmpl, esc) == NULL)
			problem(pc, "%s: '%s' lacks %s", key, tmpl, esc);
	}
}

static void
check_consistency(const struct oa_conf *conf, struct parse_ctx *pc)
{
	pc->line = 0;
	check_template("role_group_template", conf->role_group_template, "or",
		       "or", pc);
	check_template("project_group_template", conf->project_group_template,
		       "on", "n", pc);
	check_template("dataset_group_template", conf->dataset_group_template,
		       "on", "n", pc);
	if (conf->gid_min > conf->gid_max)
		problem(pc, "gid_min %u is above gid_max %u", conf->gid_min,
			conf->gid_max);
	if (conf->directory_source == OA_DIR_LDAP && conf->ldap_uri[0] == '\0')
		problem(pc, "directory = ldap needs ldap_uri");
	/*
	 * These narrow who holds a role in host_organisation; without one
	 * the account check does not run at all, so they would silently
	 * let everyone in.
	 */
	if (conf->host_organisation[0] == '\0') {
		if (conf->required_project[0] != '\0')
			problem(pc, "required_project needs host_organisation");
		if (conf->required_dataset[0] != '\0')
			problem(pc, "required_dataset needs host_organisation");
		if (conf->allowed_roles != OA_ROLE_ALL)
			problem(pc, "allowed_roles needs host_organisation");
	}
}

int
oa_conf_load(struct oa_conf *conf, const char *path, oa_conf_report_fn *report,
	     void *ctx)
{
	struct parse_ctx pc = {path, 0, report, ctx, 0};
	unsigned char seen[N_KEYS];
	char line[CONF_LINE_MAX];
	struct stat st;
	FILE *fp = NULL;
	int fd, ret = -1;

	oa_conf_defaults(conf);
	copy_field(conf->loaded_from, sizeof(conf->loaded_from), path);
	memset(seen, 0, sizeof(seen));

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		problem(&pc, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		problem(&pc, "not a regular file");
		close(fd);
		goto out;
	}
	conf->loaded_safe = (st.st_uid == 0 || st.st_uid == geteuid()) &&
			    (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
	if (st.st_size > CONF_MAX_BYTES) {
		problem(&pc, "larger than %d bytes", CONF_MAX_BYTES);
		close(fd);
		goto out;
	}
	fp = fdopen(fd, "r");
	if (fp == NULL) {
		problem(&pc, "cannot read: %s", strerror(errno));
		close(fd);
		goto out;
	}
	for (;;) {
		int rc = read_line(fp, line, sizeof(line));

		if (rc == LINE_EOF)
			break;
		pc.line++;
		if (rc == LINE_TOO_LONG) {
			problem(&pc, "line longer than %d characters",
				CONF_LINE_MAX - 1);
			continue;
		}
		if (rc == LINE_NUL) {
			problem(&pc, "line holds a NUL byte");
			continue;
		}
		parse_line(conf, line, seen, &pc);
	}
	if (ferror(fp)) {
		pc.line = 0;
		problem(&pc, "read error: %s", strerror(errno));
	}
	check_consistency(conf, &pc);
	if (pc.problems == 0)
		ret = 0;
out:
	if (fp != NULL)
		fclose(fp);
	return ret;
}
