/*
 * The directory model on small LDIF fixtures (tests/fixtures/): the roles
 * derived for each user with their reasons, every validation problem with
 * its line and DN, order independence, and hostile LDIF that must give a
 * clear error or a correct parse, never a crash.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "directory.h"

static int failures;
static char tmpdir[] = "/tmp/orgauth-dir-test.XXXXXX";

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

/* A growing text buffer for reports and dumps. */
struct text {
	char *s;
	size_t len, cap;
};

static void add(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			exit(99);
		if (t->len + (size_t)n < t->cap)
			break;
		t->cap = (t->len + (size_t)n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		if (t->s == NULL)
			exit(99);
	}
	t->len += (size_t)n;
}

static const char *
text(struct text *t)
{
	if (t->s == NULL)
		add(t, "%s", "");
	return t->s;
}

static void
text_free(struct text *t)
{
	free(t->s);
	memset(t, 0, sizeof(*t));
}

/* Reports as "basename:line: dn: message". */
static void
collect(void *ctx, const struct oa_origin *origin, const char *dn,
	const char *message)
{
	struct text *t = ctx;
	const char *base = NULL;

	if (origin != NULL && origin->source != NULL) {
		base = strrchr(origin->source, '/');
		base = base != NULL ? base + 1 : origin->source;
	}
	add(t, "%s:%u: %s: %s\n", base != NULL ? base : "-",
	    origin != NULL ? origin->line : 0, dn != NULL ? dn : "-", message);
}

static char *
fixture(const char *name)
{
	const char *top = getenv("top_srcdir");
	static char path[1024];

	snprintf(path, sizeof(path), "%s/tests/fixtures/%s",
		 top != NULL ? top : ".", name);
	return path;
}

/*
 * Loads and resolves path; the problems go to *problems.  Returns the
 * directory (never NULL; exits 99 on memory exhaustion), *rc the result of
 * resolve, or -2 when the file could not be read.
 */
static struct oa_directory *
load(const char *path, struct text *problems, int *rc)
{
	struct oa_directory *dir = oa_dir_new();
	struct oa_conf conf;

	if (dir == NULL)
		exit(99);
	oa_conf_defaults(&conf);
	if (oa_dir_load_ldif(dir, &conf, path, collect, problems) < 0) {
		*rc = -2;
		oa_dir_resolve(dir, NULL, NULL);
		return dir;
	}
	*rc = oa_dir_resolve(dir, collect, problems);
	if (*rc < 0)
		exit(99);
	return dir;
}

/* One line per user: "name: org role [via kind name, ...]; ...". */
static void
dump_roles(const struct oa_directory *dir, struct text *t)
{
	struct oa_user_roles *roles = oa_derive_roles(dir);
	size_t i, j, k;

	if (roles == NULL)
		exit(99);
	for (i = 0; i < dir->n_users; i++) {
		add(t, "%s:", dir->users[i].name);
		for (j = 0; j < roles[i].n_roles; j++) {
			const struct oa_role *r = &roles[i].roles[j];

			add(t, "%s %s %s", j > 0 ? ";" : "",
			    dir->orgs[r->org].name, oa_role_name(r->role));
			for (k = 0; k < r->n_via; k++) {
				const struct oa_entity *e =
				    &dir->entities[r->via[k]];

				add(t, "%s%s %s", k == 0 ? " via " : ", ",
				    oa_entity_kind_name(e->kind), e->name);
			}
		}
		add(t, "\n");
	}
	oa_roles_free(roles, dir->n_users);
}

/* Everything the model holds, in its order. */
static void
dump_dir(const struct oa_directory *dir, struct text *t)
{
	size_t i, j;

	for (i = 0; i < dir->n_orgs; i++) {
		const struct oa_org *o = &dir->orgs[i];

		add(t, "org %s %s wf=%d mfa=%d admins", o->name, o->dn,
		    o->workforce, o->mfa_required);
		for (j = 0; j < o->n_admins; j++)
			add(t, " %s", dir->users[o->admins[j]].name);
		add(t, " members");
		for (j = 0; j < o->n_members; j++)
			add(t, " %s", dir->users[o->members[j]].name);
		add(t, "\n");
	}
	for (i = 0; i < dir->n_users; i++) {
		const struct oa_user *u = &dir->users[i];

		add(t, "user %s %s %u %u [%s] %s [%s] %s %s\n", u->name, u->dn,
		    u->uid, u->gid, u->gecos, u->home, u->shell,
		    dir->orgs[u->home_org].name, oa_role_name(u->home_role));
	}
	for (i = 0; i < dir->n_entities; i++) {
		const struct oa_entity *e = &dir->entities[i];

		add(t, "%s %s %s owner %s:", oa_entity_kind_name(e->kind),
		    e->name, e->dn, dir->orgs[e->owner].name);
		for (j = 0; j < e->n_members; j++)
			add(t, " %s=%s", dir->users[e->members[j].user].name,
			    e->members[j].role);
		add(t, "\n");
	}
}

static const char workforce_roles[] =
    "ca: cust admin\n"
    "o1: other member\n"
    "oa: other admin\n"
    /* two projects of one foreign organisation: one role, two reasons */
    "w1: cust workforce via project p1, project p2; wf member\n"
    /* only the own organisation's project: no workforce role */
    "w2: wf member\n"
    /* a dataset alone gives the role */
    "w3: cust workforce via dataset d1; wf member\n"
    /* several roles in one project and a dataset: each once */
    "w4: other workforce via project p3, dataset d2; wf member\n"
    "wa: wf admin\n";

static void
test_workforce(void)
{
	struct text problems = {0}, roles = {0}, d = {0};
	struct oa_directory *dir;
	int rc;

	dir = load(fixture("workforce.ldif"), &problems, &rc);
	CHECK(rc == 0);
	CHECK_STR("problems", "", text(&problems));
	dump_roles(dir, &roles);
	CHECK_STR("roles", workforce_roles, text(&roles));
	/* o1 (not of a Workforce organisation) keeps the membership */
	dump_dir(dir, &d);
	CHECK(strstr(text(&d), "project p1 cn=p1,ou=projects,dc=t owner cust: "
			       "ca=admin o1=reviewer w1=annotator\n") != NULL);
	CHECK(strstr(text(&d), "project p2 cn=p2,ou=projects,dc=t owner cust: "
			       "w1=annotator_reviewer w1=reviewer\n") != NULL);
	CHECK(strstr(text(&d), "org cust o=cust,dc=t wf=0 mfa=1 admins ca "
			       "members\n") != NULL);
	CHECK(strstr(text(&d), "org wf o=wf,dc=t wf=1 mfa=0 admins wa members "
			       "w1 w2 w3 w4\n") != NULL);
	CHECK(oa_dir_find_user(dir, "w3") == 5);
	CHECK(oa_dir_find_user(dir, "nobody") == -1);
	CHECK(oa_dir_find_org(dir, "wf") == 2);
	CHECK(oa_dir_find_org(dir, "zz") == -1);
	oa_dir_free(dir);
	text_free(&problems);
	text_free(&roles);
	text_free(&d);
}

static void
test_removed(void)
{
	struct text problems = {0}, roles = {0};
	struct oa_directory *dir;
	int rc;

	dir = load(fixture("workforce-removed.ldif"), &problems, &rc);
	CHECK(rc == 0);
	CHECK_STR("problems", "", text(&problems));
	dump_roles(dir, &roles);
	CHECK(strstr(text(&roles), "\nw1: wf member\n") != NULL);
	CHECK(strstr(text(&roles), "\nw3: cust workforce via dataset d1;") !=
	      NULL);
	oa_dir_free(dir);
	text_free(&problems);
	text_free(&roles);
}

/* Entry order, the case of attribute and class names and the spelling of
 * DNs change nothing. */
static void
test_shuffled(void)
{
	struct text p1 = {0}, p2 = {0}, r1 = {0}, r2 = {0}, d1 = {0}, d2 = {0};
	struct oa_directory *a, *b;
	int rc1, rc2;

	a = load(fixture("workforce.ldif"), &p1, &rc1);
	b = load(fixture("workforce-shuffled.ldif"), &p2, &rc2);
	CHECK(rc1 == 0 && rc2 == 0);
	CHECK_STR("problems", "", text(&p2));
	dump_roles(a, &r1);
	dump_roles(b, &r2);
	CHECK_STR("roles", text(&r1), text(&r2));
	CHECK_STR("roles", workforce_roles, text(&r2));
	dump_dir(a, &d1);
	dump_dir(b, &d2);
	CHECK_STR("model", text(&d1), text(&d2));
	oa_dir_free(a);
	oa_dir_free(b);
	text_free(&p1);
	text_free(&p2);
	text_free(&r1);
	text_free(&r2);
	text_free(&d1);
	text_free(&d2);
}

static void
test_empty(void)
{
	static const char *const files[] = {"empty.ldif", "comments.ldif"};
	struct text problems = {0}, roles = {0};
	struct oa_directory *dir;
	size_t i;
	int rc;

	for (i = 0; i < 2; i++) {
		dir = load(fixture(files[i]), &problems, &rc);
		CHECK(rc == 0);
		CHECK_STR(files[i], "", text(&problems));
		CHECK(dir->n_orgs == 0 && dir->n_users == 0 &&
		      dir->n_entities == 0);
		dump_roles(dir, &roles);
		CHECK_STR("roles", "", text(&roles));
		oa_dir_free(dir);
	}
	text_free(&problems);
	text_free(&roles);
}

static const struct {
	const char *file;
	int n;
	const char *problems;
} invalid[] = {
    {"no-admin.ldif", 1,
     "no-admin.ldif:1: o=a,dc=t: organisation 'a' has no admin\n"},
    {"dangling.ldif", 3,
     "dangling.ldif:1: o=a,dc=t: orgauthMember uid=ghost,ou=people,dc=t: "
     "no such entry\n"
     "dangling.ldif:14: cn=p,dc=t: orgauthReviewer o=a,dc=t is an "
     "organisation, not a user\n"
     "dangling.ldif:14: cn=p,dc=t: orgauthAnnotator uid=nobody,dc=t: no "
     "such entry\n"},
    {"owner.ldif", 4,
     "owner.ldif:13: cn=p1,dc=t: no orgauthOwner: a project needs an "
     "owning organisation\n"
     "owner.ldif:27: cn=d1,dc=t: no orgauthOwner: a dataset needs an "
     "owning organisation\n"
     "owner.ldif:17: cn=p2,dc=t: orgauthOwner uid=u1,ou=people,dc=t is a "
     "user, not an organisation\n"
     "owner.ldif:22: cn=p3,dc=t: orgauthOwner o=gone,dc=t: no such "
     "entry\n"},
    {"duplicates.ldif", 5,
     "duplicates.ldif:60: UID=U4,OU=People,dc=t: duplicate entry: the "
     "same DN is at line 53\n"
     "duplicates.ldif:38: o=a,ou=again,dc=t: duplicate organisation "
     "name: also used by o=a,dc=t (line 1)\n"
     "duplicates.ldif:17: uid=u1,ou=other,dc=t: duplicate user name: also "
     "used by uid=u1,ou=people,dc=t (line 10)\n"
     "duplicates.ldif:31: uid=u3,ou=people,dc=t: duplicate uid number: "
     "also used by uid=u2,ou=people,dc=t (line 24)\n"
     "duplicates.ldif:48: cn=p,ou=again,dc=t: duplicate name for one "
     "owner: also used by cn=p,dc=t (line 43)\n"},
    {"homes.ldif", 2,
     "homes.ldif:20: uid=u2,ou=people,dc=t: user 'u2' has no home "
     "organisation: no organisation lists it as orgauthAdmin or "
     "orgauthMember\n"
     "homes.ldif:27: uid=u3,ou=people,dc=t: user 'u3' is listed by 2 "
     "organisations (first a); a user has one home organisation\n"},
    {"names.ldif", 6,
     "names.ldif:15: uid=u2,ou=people,dc=t: uid 'Bad Name' is not a valid "
     "Unix user name\n"
     "names.ldif:22: uid=u3,ou=people,dc=t: uid '-dash' is not a valid "
     "Unix user name\n"
     "names.ldif:29: o=x y,dc=t: o 'x y' is not a valid Unix name (it "
     "names the organisation's groups)\n"
     "names.ldif:34: o=abcdefghijklmnopqrstuvwxyz,dc=t: organisation "
     "'abcdefghijklmnopqrstuvwxyz' would make an invalid group name from "
     "role_group_template '%o-%r'\n"
     "names.ldif:39: cn=my project,dc=t: cn 'my project' is not a valid "
     "Unix name\n"
     "names.ldif:44: cn=abcdefghijklmnopqrstuvwxyz,dc=t: project "
     "'abcdefghijklmnopqrstuvwxyz' of 'a' would make an invalid group name "
     "from template '%o-proj-%n'\n"},
    {"values.ldif", 9,
     "values.ldif:1: o=a,dc=t: orgauthWorkforce is 'yes', not TRUE or "
     "FALSE\n"
     "values.ldif:1: o=a,dc=t: orgauthMfaRequired has 2 values, expected "
     "one\n"
     "values.ldif:19: uid=u2,ou=people,dc=t: uidNumber 'abc' is not a "
     "number from 1 to 4294967294\n"
     "values.ldif:26: uid=u3,ou=people,dc=t: uidNumber 0 is root's; "
     "refused\n"
     "values.ldif:26: uid=u3,ou=people,dc=t: gecos holds a ':'\n"
     "values.ldif:34: uid=u4,ou=people,dc=t: no homeDirectory attribute\n"
     "values.ldif:34: uid=u4,ou=people,dc=t: loginShell 'bin/sh' is not an "
     "absolute path without ':'\n"
     "values.ldif:41: cn=both,dc=t: entry has more than one of the object "
     "classes posixAccount, orgauthOrganization, orgauthProject, "
     "orgauthDataset\n"
     "values.ldif:47: cn=p,dc=t: orgauthAdmin value 1 is not a valid DN\n"},
};

/* What stays of an invalid directory is consistent: every index good. */
static void
check_consistent(const struct oa_directory *dir)
{
	size_t i, j;

	for (i = 0; i < dir->n_users; i++)
		CHECK(dir->users[i].home_org < dir->n_orgs);
	for (i = 0; i < dir->n_orgs; i++) {
		for (j = 0; j < dir->orgs[i].n_admins; j++)
			CHECK(dir->orgs[i].admins[j] < dir->n_users);
		for (j = 0; j < dir->orgs[i].n_members; j++)
			CHECK(dir->orgs[i].members[j] < dir->n_users);
	}
	for (i = 0; i < dir->n_entities; i++) {
		CHECK(dir->entities[i].owner < dir->n_orgs);
		for (j = 0; j < dir->entities[i].n_members; j++)
			CHECK(dir->entities[i].members[j].user < dir->n_users);
	}
	for (i = 1; i < dir->n_users; i++)
		CHECK(strcmp(dir->users[i - 1].name, dir->users[i].name) < 0);
	for (i = 1; i < dir->n_orgs; i++)
		CHECK(strcmp(dir->orgs[i - 1].name, dir->orgs[i].name) < 0);
}

static void
test_invalid(void)
{
	struct text problems = {0}, roles = {0};
	struct oa_directory *dir;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		dir = load(fixture(invalid[i].file), &problems, &rc);
		if (rc != invalid[i].n) {
			fprintf(stderr, "%s: %d problems, expected %d\n",
				invalid[i].file, rc, invalid[i].n);
			failures++;
		}
		CHECK_STR(invalid[i].file, invalid[i].problems,
			  text(&problems));
		check_consistent(dir);
		dump_roles(dir, &roles); /* must not trip over anything */
		oa_dir_free(dir);
		text_free(&problems);
		text_free(&roles);
	}
}

/* The same model fed through oa_dir_add_entry() directly, as the LDAP
 * source does; with embedded NULs that LDIF cannot easily carry. */
static void
test_api(void)
{
	static const char *const oc_org[] = {"orgauthOrganization"};
	static const char *const oc_user[] = {"top", "posixAccount"};
	static const char *const o[] = {"acme"}, *const admin[] = {
						     "uid=a,dc=t"};
	static const char *const uid[] = {"a"}, *const num[] = {"5000"};
	static const char *const home[] = {"/home/a"};
	static const char *const gecos[] = {"A\0B"};
	static const size_t gecos_len[] = {3};
	const struct oa_attr org_attrs[] = {
	    {"objectclass", oc_org, NULL, 1},
	    {"O", o, NULL, 1},
	    {"orgauthadmin", admin, NULL, 1},
	};
	struct oa_attr user_attrs[] = {
	    {"objectClass", oc_user, NULL, 2}, {"uid", uid, NULL, 1},
	    {"uidNumber", num, NULL, 1},       {"gidNumber", num, NULL, 1},
	    {"homeDirectory", home, NULL, 1},  {"gecos", gecos, gecos_len, 1},
	};
	const struct oa_origin origin = {"ldap://test", 0};
	struct text problems = {0}, d = {0};
	struct oa_directory *dir;
	struct oa_conf conf;

	oa_conf_defaults(&conf);
	dir = oa_dir_new();
	if (dir == NULL)
		exit(99);
	CHECK(oa_dir_add_entry(dir, &conf, &origin, "o=acme,dc=t", org_attrs, 3,
			       collect, &problems) == 0);
	CHECK(oa_dir_add_entry(dir, &conf, &origin, "uid=a,dc=t", user_attrs, 6,
			       collect, &problems) == 0);
	CHECK(oa_dir_resolve(dir, collect, &problems) == 2);
	CHECK_STR("api",
		  "test:0: uid=a,dc=t: gecos holds a NUL byte\n"
		  "test:0: o=acme,dc=t: organisation 'acme' has no admin\n",
		  text(&problems));
	oa_dir_free(dir);
	text_free(&problems);

	/* without the NUL it is a valid directory */
	user_attrs[5].lengths = NULL;
	dir = oa_dir_new();
	if (dir == NULL)
		exit(99);
	CHECK(oa_dir_add_entry(dir, &conf, &origin, "o=acme,dc=t", org_attrs, 3,
			       collect, &problems) == 0);
	CHECK(oa_dir_add_entry(dir, &conf, &origin, "uid=a,dc=t", user_attrs, 6,
			       collect, &problems) == 0);
	CHECK(oa_dir_resolve(dir, collect, &problems) == 0);
	CHECK_STR("api problems", "", text(&problems));
	dump_dir(dir, &d);
	CHECK_STR("api model",
		  "org acme o=acme,dc=t wf=0 mfa=0 admins a members\n"
		  "user a uid=a,dc=t 5000 5000 [A] /home/a [] acme admin\n",
		  text(&d));
	/* a second resolve is refused, not a crash */
	CHECK(oa_dir_resolve(dir, collect, &problems) == -1);
	oa_dir_free(dir);
	text_free(&d);
	text_free(&problems);
}

static void
test_group_name(void)
{
	char buf[16];

	CHECK(oa_group_name(buf, sizeof(buf), "%o-%r", "acme", "admin", NULL) ==
	      0);
	CHECK_STR("role", "acme-admin", buf);
	CHECK(oa_group_name(buf, sizeof(buf), "%o-p-%n%%", "a", NULL, "x") ==
	      0);
	CHECK_STR("entity", "a-p-x%", buf);
	CHECK(oa_group_name(buf, sizeof(buf), "%o-%r", "acmeacmeacme", "admin",
			    NULL) == -1);
	CHECK(oa_group_name(buf, sizeof(buf), "%q", "a", "b", "c") == -1);
	CHECK(oa_group_name(buf, sizeof(buf), "ab%", "a", "b", "c") == -1);
	CHECK(oa_valid_unix_name("acme-admin"));
	CHECK(!oa_valid_unix_name("acme admin"));
	CHECK(!oa_valid_unix_name("-acme"));
	CHECK(!oa_valid_unix_name("1234"));
	CHECK(!oa_valid_unix_name("a23456789012345678901234567890123"));
}

/* ---- hostile LDIF ---- */

static char *
write_tmp(const char *name, const char *data, size_t len)
{
	static char path[600];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "wb");
	if (fp == NULL || fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
		perror(path);
		exit(99);
	}
	return path;
}

/* Loads the LDIF text given; returns the problems (static storage). */
static const char *
hostile(const char *data, size_t len, int *rc, struct text *model)
{
	static struct text problems;
	struct oa_directory *dir;

	text_free(&problems);
	dir = load(write_tmp("h.ldif", data, len), &problems, rc);
	check_consistent(dir);
	if (model != NULL)
		dump_dir(dir, model);
	oa_dir_free(dir);
	return text(&problems);
}

#define HOSTILE(s, rc, m) hostile(s, sizeof(s) - 1, rc, m)

/* When the admin of BASE is refused, its organisation has none left. */
#define NO_ADMIN "h.ldif:1: o=acme,dc=t: organisation 'acme' has no admin\n"

/* An organisation and its admin (lines 1-11), for records to lean on. */
#define BASE                                                                   \
	"dn: o=acme,dc=t\nobjectClass: orgauthOrganization\no: acme\n"         \
	"orgauthAdmin: uid=a,dc=t\n\n"                                         \
	"dn: uid=a,dc=t\nobjectClass: posixAccount\nuid: a\n"                  \
	"uidNumber: 5000\ngidNumber: 100\nhomeDirectory: /home/a\n"

static void
test_hostile_syntax(void)
{
	struct text m = {0};
	const char *p;
	int rc;

	/* a record cut short at the end of the file */
	p = HOSTILE(BASE "\ndn: uid=b,dc=t\nobjectClass: posixAccount\n"
			 "uid: b\nuidNumber: 50",
		    &rc, NULL);
	CHECK_STR("truncated",
		  "h.ldif:13: uid=b,dc=t: no gidNumber attribute\n"
		  "h.ldif:13: uid=b,dc=t: no homeDirectory attribute\n",
		  p);
	CHECK(rc == 2);
	/* cut in the middle of an attribute name: no colon */
	p = HOSTILE(BASE "\ndn: uid=b,dc=t\nobjectCl", &rc, NULL);
	CHECK_STR("truncated name",
		  "h.ldif:14: -: invalid LDIF line: expected \"attribute: "
		  "value\"\n",
		  p);
	CHECK(rc == 1);
	/* bad base64 */
	p = HOSTILE(BASE "\ndn: cn=x,dc=t\ncn:: @@@@\n", &rc, NULL);
	CHECK_STR("bad base64", "h.ldif:14: -: invalid base64 value of cn\n",
		  p);
	CHECK(rc == 1);
	/* no DN at all */
	p = HOSTILE(BASE "\nobjectClass: posixAccount\nuid: b\n", &rc, NULL);
	CHECK_STR("no dn", "h.ldif:13: -: record without a DN\n", p);
	CHECK(rc == 1);
	p = HOSTILE("dn:\nobjectClass: orgauthOrganization\n", &rc, NULL);
	CHECK_STR("empty dn", "h.ldif:1: -: record without a DN\n", p);
	/* a change record */
	p = HOSTILE(BASE "\ndn: uid=a,dc=t\nchangetype: delete\n", &rc, NULL);
	CHECK_STR("change",
		  "h.ldif:13: -: change records are not accepted, only "
		  "entries\n",
		  p);
	/* values from URLs, folded or not, and include: are refused */
	p = HOSTILE(BASE "gecos:< file:///etc/passwd\n", &rc, NULL);
	CHECK_STR("url",
		  "h.ldif:6: -: values read from a URL (\"attribute:<\") are "
		  "not accepted\n"
		  "h.ldif:1: o=acme,dc=t: orgauthAdmin uid=a,dc=t: no such "
		  "entry\n"
		  "h.ldif:1: o=acme,dc=t: organisation 'acme' has no admin\n",
		  p);
	p = HOSTILE(BASE "gec\n os:\n < file:///etc/passwd\n", &rc, NULL);
	CHECK(strstr(p, "values read from a URL") != NULL);
	p = HOSTILE(BASE "description: a:< b\n", &rc, NULL);
	CHECK_STR("not a url", "", p);
	p = HOSTILE(BASE "\ninclude: file:///etc/orgauth-none.ldif\n", &rc,
		    NULL);
	CHECK(rc == 1 || rc == -2);
	/* a version line, CRLF line ends, comments inside records */
	p = HOSTILE("version: 1\r\n\r\n"
		    "dn: o=acme,dc=t\r\n# note\r\nobjectClass: "
		    "orgauthOrganization\r\no: acme\r\n"
		    "orgauthAdmin: uid=a,dc=t\r\n\r\n"
		    "dn: uid=a,dc=t\r\nobjectClass: posixAccount\r\nuid: a\r\n"
		    "uidNumber: 5000\r\ngidNumber: 100\r\nhomeDirectory: "
		    "/home/a\r\n",
		    &rc, &m);
	CHECK_STR("crlf", "", p);
	CHECK(rc == 0);
	CHECK_STR("crlf model",
		  "org acme o=acme,dc=t wf=0 mfa=0 admins a members\n"
		  "user a uid=a,dc=t 5000 100 [] /home/a [] acme admin\n",
		  text(&m));
	text_free(&m);
	/* binary junk */
	p = HOSTILE("\x01\x02\x03\n\xff\xfe\n\n", &rc, NULL);
	CHECK(rc > 0);
	/* a missing file and a folder */
	{
		struct text problems = {0};
		struct oa_directory *dir;
		char path[600];

		snprintf(path, sizeof(path), "%s/none.ldif", tmpdir);
		dir = load(path, &problems, &rc);
		CHECK(rc == -2);
		CHECK_STR("missing",
			  "none.ldif:0: -: cannot read: No such file or "
			  "directory\n",
			  text(&problems));
		oa_dir_free(dir);
		text_free(&problems);
		dir = load(tmpdir, &problems, &rc);
		CHECK(rc == -2);
		CHECK(strstr(text(&problems), ": not a regular file\n"));
		oa_dir_free(dir);
		text_free(&problems);
	}
}

static void
test_hostile_values(void)
{
	struct text m = {0};
	const char *p;
	char *big;
	size_t n, k;
	int rc;

	/* base64 DN and values, with escaped commas and parentheses in DNs,
	 * spelled differently in the reference */
	p = HOSTILE("dn:: bz1hY21lLGRjPXQ=\n" /* o=acme,dc=t */
		    "objectClass: orgauthOrganization\no: acme\n"
		    "orgauthAdmin: cn=Smith\\2C John (Jr),dc=t\n\n"
		    "dn: cn=Smith\\, John (Jr),dc=t\nobjectClass: "
		    "posixAccount\nuid: js\n"
		    "uidNumber: 5000\ngidNumber: 100\n"
		    "homeDirectory:: L2hvbWUvanM=\n" /* /home/js */
		    "gecos:: Sm9obiBTbWl0aCDDqQ==\n" /* John Smith é */,
		    &rc, &m);
	CHECK_STR("base64", "", p);
	CHECK_STR("base64 model",
		  "org acme o=acme,dc=t wf=0 mfa=0 admins js members\n"
		  "user js cn=Smith\\2C John (Jr),dc=t 5000 100 [John Smith "
		  "\xc3\xa9] /home/js [] acme admin\n",
		  text(&m));
	text_free(&m);
	/* a NUL inside a base64 value */
	p = HOSTILE(BASE "gecos:: QQBC\n", &rc, NULL); /* "A\0B" */
	CHECK_STR("nul",
		  "h.ldif:6: uid=a,dc=t: gecos holds a NUL byte\n" NO_ADMIN, p);
	/* and in a DN and a DN-valued attribute */
	p = HOSTILE("dn:: bz1hAGIsZGM9dA==\nobjectClass: orgauthOrganization\n"
		    "o: a\n",
		    &rc, NULL);
	CHECK_STR("nul dn", "h.ldif:1: -: the DN holds a NUL byte\n", p);
	p = HOSTILE(BASE "\ndn: o=b,dc=t\nobjectClass: orgauthOrganization\n"
			 "o: b\norgauthAdmin:: dWlkPWEAYixkYz10\n",
		    &rc, NULL);
	CHECK_STR("nul ref",
		  "h.ldif:13: o=b,dc=t: orgauthAdmin value 1 is not a valid "
		  "DN\n",
		  p);
	/* non-UTF-8 */
	p = HOSTILE(BASE "gecos: caf\xe9\n", &rc, NULL);
	CHECK_STR("latin1",
		  "h.ldif:6: uid=a,dc=t: gecos is not valid UTF-8\n" NO_ADMIN,
		  p);
	p = HOSTILE("dn: o=\xff\xfe,dc=t\nobjectClass: orgauthOrganization\n"
		    "o: x\n",
		    &rc, NULL);
	CHECK_STR("latin1 dn", "h.ldif:1: -: entry DN is not a valid DN\n", p);
	p = HOSTILE(BASE "gecos:: 7aCA\n", &rc, NULL); /* a surrogate */
	CHECK_STR("surrogate",
		  "h.ldif:6: uid=a,dc=t: gecos is not valid UTF-8\n" NO_ADMIN,
		  p);
	/* malformed DNs */
	p = HOSTILE("dn: o=acme,,dc=t\nobjectClass: orgauthOrganization\n"
		    "o: acme\n",
		    &rc, NULL);
	CHECK_STR("bad dn", "h.ldif:1: -: entry DN is not a valid DN\n", p);

	/* listed as admin and as member of one organisation: its admin */
	p = HOSTILE(BASE "\n" /* BASE's org lists a as admin */
			 "dn: o=acme,dc=t\nchangetype: add\n"
			 "objectClass: orgauthOrganization\no: acme\n",
		    &rc, NULL);
	CHECK(strstr(p, "duplicate entry: the same DN is at line 1\n"));
	p = HOSTILE("dn: o=acme,dc=t\nobjectClass: orgauthOrganization\n"
		    "o: acme\norgauthMember: uid=a,dc=t\n"
		    "orgauthAdmin: uid=a,dc=t\norgauthMember: uid=a,dc=t\n\n"
		    "dn: uid=a,dc=t\nobjectClass: posixAccount\nuid: a\n"
		    "uidNumber: 5000\ngidNumber: 100\nhomeDirectory: /home/a\n",
		    &rc, &m);
	CHECK_STR("admin and member", "", p);
	CHECK_STR("admin and member model",
		  "org acme o=acme,dc=t wf=0 mfa=0 admins a members\n"
		  "user a uid=a,dc=t 5000 100 [] /home/a [] acme admin\n",
		  text(&m));
	text_free(&m);

	/* an escaped newline in a DN would forge lines of output */
	p = HOSTILE("dn: o=a\\0Ab,dc=t\nobjectClass: orgauthOrganization\n"
		    "o: a\n",
		    &rc, NULL);
	CHECK_STR("newline dn", "h.ldif:1: -: entry DN is not a valid DN\n", p);
	p = HOSTILE(BASE "\ndn: o=b,dc=t\nobjectClass: orgauthOrganization\n"
			 "o: b\norgauthAdmin: uid=a\\0d,dc=t\n",
		    &rc, NULL);
	CHECK_STR("newline ref",
		  "h.ldif:13: o=b,dc=t: orgauthAdmin value 1 is not a valid "
		  "DN\n",
		  p);
	/* a binary (#hex) value is shown in hex: it may hold anything */
	p = HOSTILE("dn: o=#04020a0b,dc=t\nobjectClass: orgauthOrganization\n"
		    "o: x\norgauthAdmin: uid=a,dc=t\n\n"
		    "dn: uid=a,dc=t\nobjectClass: posixAccount\nuid: a\n"
		    "uidNumber: 5000\ngidNumber: 100\nhomeDirectory: /home/a\n",
		    &rc, &m);
	CHECK_STR("binary dn", "", p);
	CHECK(strstr(text(&m), "org x o=#04020A0B,dc=t ") != NULL);
	text_free(&m);

	/* very long values: a 1 MB gecos, a 100 kB DN, a long name */
	n = 1 << 20;
	big = malloc(n + 256);
	if (big == NULL)
		exit(99);
	memcpy(big, BASE "gecos: ", sizeof(BASE "gecos: ") - 1);
	memset(big + sizeof(BASE "gecos: ") - 1, 'g', n);
	strcpy(big + sizeof(BASE "gecos: ") - 1 + n, "\n");
	p = hostile(big, strlen(big), &rc, NULL);
	CHECK_STR(
	    "long gecos",
	    "h.ldif:6: uid=a,dc=t: gecos is longer than 1024 bytes\n" NO_ADMIN,
	    p);
	strcpy(big, "dn: cn=");
	memset(big + 7, 'x', 100000);
	strcpy(big + 100007, ",dc=t\nobjectClass: orgauthProject\ncn: p\n"
			     "orgauthOwner: o=none,dc=t\n");
	p = hostile(big, strlen(big), &rc, NULL);
	CHECK(rc == 1 &&
	      strstr(p, "orgauthOwner o=none,dc=t: no such entry\n"));
	strcpy(big, BASE "\ndn: uid=b,dc=t\nobjectClass: posixAccount\nuid: ");
	k = strlen(big);
	memset(big + k, 'b', 5000);
	strcpy(big + k + 5000,
	       "\nuidNumber: 1\ngidNumber: 1\nhomeDirectory: /\n");
	p = hostile(big, strlen(big), &rc, NULL);
	CHECK_STR("long uid",
		  "h.ldif:13: uid=b,dc=t: uid is longer than 1024 bytes\n", p);
	CHECK(rc == 1);
	free(big);

	/* numbers at and past the edges */
	p = HOSTILE(BASE "\ndn: uid=b,dc=t\nobjectClass: posixAccount\nuid: "
			 "b\nuidNumber: 4294967295\ngidNumber: -1\n"
			 "homeDirectory: /\n",
		    &rc, NULL);
	CHECK_STR("numbers",
		  "h.ldif:13: uid=b,dc=t: uidNumber '4294967295' is not a "
		  "number from 1 to 4294967294\n"
		  "h.ldif:13: uid=b,dc=t: gidNumber '-1' is not a number from "
		  "1 to 4294967294\n",
		  p);
}

/* Pseudo-random bytes and mutations of a valid file: whatever comes out,
 * nothing crashes and the model stays consistent (ASan and valgrind
 * watch the memory). */
static void
test_mutations(void)
{
	static const char seed[] = BASE "gecos:: Sm9obg==\n\n"
					"dn: cn=p,dc=t\nobjectClass: "
					"orgauthProject\ncn: p\n"
					"orgauthOwner: o=acme,dc=t\n"
					"orgauthAnnotator: uid=a,dc=t\n";
	static const char alphabet[] = "\n\n :::=,\\#<-+\"abcdeo0\x80\xff\0";
	char buf[sizeof(seed) + 64];
	unsigned long state = 12345;
	size_t len, i, k;
	int rc;

	for (i = 0; i < 300; i++) {
		memcpy(buf, seed, sizeof(seed));
		len = sizeof(seed) - 1;
		for (k = 0; k < 1 + i % 8; k++) {
			size_t at;

			state = state * 6364136223846793005ul +
				1442695040888963407ul;
			at = (state >> 33) % len;
			buf[at] =
			    alphabet[(state >> 20) % (sizeof(alphabet) - 1)];
			if ((state >> 40) % 5 == 0)
				len = at + 1; /* cut it short too */
		}
		(void)hostile(buf, len, &rc, NULL);
		CHECK(rc >= 0);
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
	test_workforce();
	test_removed();
	test_shuffled();
	test_empty();
	test_invalid();
	test_api();
	test_group_name();
	test_hostile_syntax();
	test_hostile_values();
	test_mutations();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	if (failures > 0)
		fprintf(stderr, "%d checks failed\n", failures);
	return failures > 0 ? 1 : 0;
}
