/*
 * Test helper: writes a role cache from a plain text description, so that
 * tests can make caches of any shape and size (100k users, a group of
 * thousands of members) without a directory.  Usage:
 *
 *	mkcache OUTPUT < description
 *
 * One record per line, fields separated by tabs; groups' members are a
 * comma-separated list of user names (may be empty), gid "auto" hashes
 * the name into the default range as sync does:
 *
 *	org	NAME	WORKFORCE(0|1)	MFA(0|1)
 *	user	NAME	UID	GID	GECOS	HOME	SHELL
 *	group	NAME	GID|auto	role|project|dataset	ORG	MEMBERS
 *	role	USER	ORG	admin|member|workforce
 *
 * Orgs come before the groups and roles that name them, users before
 * the groups that list them.  Lookups by name are linear: keep the
 * numbers of orgs small; users and groups may be many.
 */
#include "config.h"

#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_write.h"
#include "compile.h"
#include "conf.h"

struct list {
	void *items;
	size_t n, cap, size;
};

static void *
push(struct list *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->items = realloc(l->items, l->cap * l->size);
		if (l->items == NULL) {
			perror("mkcache");
			exit(99);
		}
	}
	memset((char *)l->items + l->n * l->size, 0, l->size);
	return (char *)l->items + l->n++ * l->size;
}

static struct list users = {NULL, 0, 0, sizeof(struct oa_cw_user)};
static struct list groups = {NULL, 0, 0, sizeof(struct oa_cw_group)};
static struct list orgs = {NULL, 0, 0, sizeof(struct oa_cw_org)};
/* per user: group indexes and roles, as lists */
static struct list *user_groups, *user_roles;
static size_t user_lists_cap;

static char *
dup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL) {
		perror("mkcache");
		exit(99);
	}
	return d;
}

/* User names -> index, through a hsearch table. */
static long
find_user(const char *name)
{
	ENTRY e = {(char *)name, NULL}, *hit = hsearch(e, FIND);

	return hit == NULL ? -1 : (long)(size_t)hit->data;
}

static long
find_org(const char *name)
{
	const struct oa_cw_org *o = orgs.items;
	size_t i;

	for (i = 0; i < orgs.n; i++) {
		if (strcmp(o[i].name, name) == 0)
			return (long)i;
	}
	return -1;
}

static void
grow_user_lists(void)
{
	size_t old = user_lists_cap, i;

	if (users.n <= user_lists_cap)
		return;
	user_lists_cap = users.cap;
	user_groups =
	    realloc(user_groups, user_lists_cap * sizeof(struct list));
	user_roles = realloc(user_roles, user_lists_cap * sizeof(struct list));
	if (user_groups == NULL || user_roles == NULL) {
		perror("mkcache");
		exit(99);
	}
	for (i = old; i < user_lists_cap; i++) {
		struct list g = {NULL, 0, 0, sizeof(uint32_t)};
		struct list r = {NULL, 0, 0, sizeof(struct oa_cf_role)};

		user_groups[i] = g;
		user_roles[i] = r;
	}
}

static int
role_bit(const char *s)
{
	if (strcmp(s, "admin") == 0)
		return OA_ROLE_ADMIN;
	if (strcmp(s, "member") == 0)
		return OA_ROLE_MEMBER;
	if (strcmp(s, "workforce") == 0)
		return OA_ROLE_WORKFORCE;
	return -1;
}

static int
parse_line(char *line, unsigned lineno)
{
	char *f[8];
	size_t n = 0;
	char *save, *tok;

	line[strcspn(line, "\n")] = '\0';
	if (line[0] == '\0' || line[0] == '#')
		return 0;
	for (tok = line; n < 8; n++) {
		f[n] = tok;
		tok = strchr(tok, '\t');
		if (tok == NULL) {
			n++;
			break;
		}
		*tok++ = '\0';
	}
	if (strcmp(f[0], "org") == 0 && n == 4) {
		struct oa_cw_org *o = push(&orgs);

		o->name = dup(f[1]);
		o->workforce = f[2][0] == '1';
		o->mfa_required = f[3][0] == '1';
		return 0;
	}
	if (strcmp(f[0], "user") == 0 && n == 7) {
		struct oa_cw_user *u = push(&users);
		ENTRY e;

		u->name = dup(f[1]);
		u->uid = (uint32_t)strtoul(f[2], NULL, 10);
		u->gid = (uint32_t)strtoul(f[3], NULL, 10);
		u->gecos = dup(f[4]);
		u->home = dup(f[5]);
		u->shell = dup(f[6]);
		e.key = (char *)u->name;
		e.data = (void *)(users.n - 1);
		if (hsearch(e, ENTER) == NULL)
			return -1;
		grow_user_lists();
		return 0;
	}
	if (strcmp(f[0], "group") == 0 && n == 6) {
		struct oa_cw_group *g = push(&groups);
		struct list members = {NULL, 0, 0, sizeof(uint32_t)};
		long org = find_org(f[4]);

		g->name = dup(f[1]);
		g->gid = strcmp(f[2], "auto") == 0
			     ? oa_group_gid(f[1], 2000000000u, 2099999999u)
			     : (uint32_t)strtoul(f[2], NULL, 10);
		g->kind = strcmp(f[3], "role") == 0	 ? OA_CF_KIND_ROLE
			  : strcmp(f[3], "project") == 0 ? OA_CF_KIND_PROJECT
							 : OA_CF_KIND_DATASET;
		if (org < 0)
			return -1;
		g->org = (uint32_t)org;
		if (g->kind != OA_CF_KIND_ROLE)
			g->entity = dup(f[1]);
		for (tok = strtok_r(f[5], ",", &save); tok != NULL;
		     tok = strtok_r(NULL, ",", &save)) {
			long u = find_user(tok);

			if (u < 0) {
				fprintf(stderr, "line %u: no user %s\n", lineno,
					tok);
				return -1;
			}
			*(uint32_t *)push(&members) = (uint32_t)u;
			*(uint32_t *)push(&user_groups[u]) =
			    (uint32_t)(groups.n - 1);
		}
		g->members = members.items;
		g->n_members = (uint32_t)members.n;
		return 0;
	}
	if (strcmp(f[0], "role") == 0 && n == 4) {
		long u = find_user(f[1]), org = find_org(f[2]);
		int bit = role_bit(f[3]);
		struct oa_cf_role *r;

		if (u < 0 || org < 0 || bit < 0)
			return -1;
		r = push(&user_roles[u]);
		r->org = (uint32_t)org;
		r->role = (uint32_t)bit;
		return 0;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct oa_cache_model m;
	unsigned char *buf;
	char *line = NULL, err[512];
	size_t cap = 0, len, i;
	unsigned lineno = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: mkcache OUTPUT < description\n");
		return 99;
	}
	if (hcreate(4 * 1024 * 1024) == 0) {
		perror("mkcache");
		return 99;
	}
	while (getline(&line, &cap, stdin) > 0) {
		lineno++;
		if (parse_line(line, lineno) < 0) {
			fprintf(stderr, "mkcache: line %u: bad record\n",
				lineno);
			return 99;
		}
	}
	for (i = 0; i < users.n; i++) {
		struct oa_cw_user *u = (struct oa_cw_user *)users.items + i;

		u->groups = user_groups[i].items;
		u->n_groups = (uint32_t)user_groups[i].n;
		u->roles = user_roles[i].items;
		u->n_roles = (uint32_t)user_roles[i].n;
	}
	memset(&m, 0, sizeof(m));
	m.users = users.items;
	m.n_users = users.n;
	m.groups = groups.items;
	m.n_groups = groups.n;
	m.orgs = orgs.items;
	m.n_orgs = orgs.n;
	m.built_at = 1700000000;
	m.gid_min = 2000000000u;
	m.gid_max = 2099999999u;
	if (oa_cache_serialize(&m, &buf, &len) < 0) {
		fprintf(stderr, "mkcache: %s\n", strerror(errno));
		return 99;
	}
	if (oa_cache_replace(argv[1], buf, len, err, sizeof(err)) < 0) {
		fprintf(stderr, "mkcache: %s\n", err);
		return 99;
	}
	/* XXX: a one-shot test helper: the model is left to exit() */
	free(buf);
	free(line);
	return 0;
}
