/*
 * Directory + roles -> cache model (see compile.h for the group and GID
 * scheme).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"

#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME  0x100000001b3ull

/* The three org roles in the order groups and messages list them. */
static const enum oa_org_role org_roles[] = {OA_ROLE_ADMIN, OA_ROLE_MEMBER,
					     OA_ROLE_WORKFORCE};
#define N_ORG_ROLES 3

uint32_t
oa_group_gid(const char *name, uint32_t gid_min, uint32_t gid_max)
{
	uint64_t h = FNV64_OFFSET, span;

	for (; *name != '\0'; name++) {
		h ^= (unsigned char)*name;
		h *= FNV64_PRIME;
	}
	span = (uint64_t)gid_max - gid_min + 1;
	return gid_min + (uint32_t)(h % span);
}

int
oa_expand_group_template(char *out, size_t size, const char *tmpl,
			 const char *org, const char *arg)
{
	size_t n = 0;
	const char *p, *add;
	char pct[2] = "%";

	for (p = tmpl; *p != '\0'; p++) {
		size_t len;

		if (*p != '%') {
			if (n + 1 >= size)
				return -1;
			out[n++] = *p;
			continue;
		}
		switch (p[1]) {
		case 'o':
			add = org;
			break;
		case 'r':
		case 'n':
			add = arg;
			break;
		case '%':
			add = pct;
			break;
		default:
			return -1;
		}
		p++;
		len = strlen(add);
		if (n + len >= size)
			return -1;
		memcpy(out + n, add, len);
		n += len;
	}
	if (size == 0)
		return -1;
	out[n] = '\0';
	return 0;
}

static int
role_slot(enum oa_org_role role)
{
	switch (role) {
	case OA_ROLE_ADMIN:
		return 0;
	case OA_ROLE_MEMBER:
		return 1;
	case OA_ROLE_WORKFORCE:
		return 2;
	}
	return -1;
}

/* A group while it is being planned, before sorting by name. */
struct plan {
	char *name;
	uint32_t gid;
	uint32_t kind;
	size_t org;
	size_t entity; /* entity index, for project and dataset groups */
	enum oa_org_role role;
	size_t final; /* index after sorting */
};

struct ctx {
	const struct oa_directory *dir;
	oa_compile_report_fn *report;
	void *report_ctx;
	int problems;
};

static void problem(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
problem(struct ctx *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->problems++;
	if (c->report != NULL)
		c->report(c->report_ctx, msg);
}

/* Says where a group comes from, for messages. */
static void
describe(const struct ctx *c, const struct plan *p, char *buf, size_t size)
{
	const struct oa_directory *dir = c->dir;

	if (p->kind == OA_CF_KIND_ROLE)
		snprintf(buf, size, "role %s of organisation %s",
			 oa_role_name(p->role), dir->orgs[p->org].name);
	else
		snprintf(buf, size, "%s %s of organisation %s",
			 p->kind == OA_CF_KIND_PROJECT ? "project" : "dataset",
			 dir->entities[p->entity].name, dir->orgs[p->org].name);
}

static int
cmp_plan_name(const void *a, const void *b)
{
	const struct plan *pa = *(const struct plan *const *)a;
	const struct plan *pb = *(const struct plan *const *)b;

	return strcmp(pa->name, pb->name);
}

static int
cmp_plan_gid(const void *a, const void *b)
{
	const struct plan *pa = *(const struct plan *const *)a;
	const struct plan *pb = *(const struct plan *const *)b;

	if (pa->gid != pb->gid)
		return pa->gid < pb->gid ? -1 : 1;
	return strcmp(pa->name, pb->name);
}

/* Adds one planned group named by tmpl; reports a bad name. */
static int
add_plan(struct ctx *c, struct plan *plans, size_t *n, const char *tmpl,
	 const char *arg, struct plan proto)
{
	char name[OA_CONF_NAME_LEN * 4], what[512];

	describe(c, &proto, what, sizeof(what));
	if (oa_expand_group_template(name, sizeof(name), tmpl,
				     c->dir->orgs[proto.org].name, arg) < 0 ||
	    !oa_valid_unix_name(name)) {
		problem(c,
			"the group name of %s, from template '%s', is not a "
			"valid group name",
			what, tmpl);
		return 0;
	}
	proto.name = strdup(name);
	if (proto.name == NULL)
		return -1;
	plans[(*n)++] = proto;
	return 0;
}

/* Reports GID clashes between groups and with users' primary GIDs. */
static void
check_gids(struct ctx *c, struct plan **order, size_t n)
{
	const struct oa_directory *dir = c->dir;
	char a[512], b[512];
	size_t i, u;

	qsort(order, n, sizeof(*order), cmp_plan_gid);
	for (i = 1; i < n; i++) {
		if (order[i]->gid != order[i - 1]->gid)
			continue;
		describe(c, order[i - 1], a, sizeof(a));
		describe(c, order[i], b, sizeof(b));
		problem(c,
			"groups %s (%s) and %s (%s) hash to the same GID %u: "
			"rename one or change gid_min/gid_max",
			order[i - 1]->name, a, order[i]->name, b,
			order[i]->gid);
	}
	for (u = 0; u < dir->n_users; u++) {
		uint32_t gid = dir->users[u].gid;
		size_t lo = 0, hi = n;
		const struct plan *hit;

		/* the first group at or above gid */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (order[mid]->gid < gid)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == n || order[lo]->gid != gid)
			continue;
		hit = order[lo];
		describe(c, hit, a, sizeof(a));
		problem(c,
			"group %s (%s) hashes to GID %u, the primary GID of "
			"user %s: rename one or change gid_min/gid_max",
			hit->name, a, gid, dir->users[u].name);
	}
}

/*
 * Plans the groups: names, GIDs, order.  On success *plans_out holds n
 * groups and order[] the same sorted by name, with final set.
 */
static int
plan_groups(struct ctx *c, const struct oa_user_roles *roles,
	    const struct oa_conf *conf, struct plan **plans_out,
	    struct plan ***order_out, size_t *n_out)
{
	const struct oa_directory *dir = c->dir;
	size_t max = dir->n_orgs * N_ORG_ROLES + dir->n_entities, n = 0;
	size_t *held = calloc(dir->n_orgs * N_ORG_ROLES + 1, sizeof(*held));
	struct plan *plans = calloc(max + 1, sizeof(*plans));
	struct plan **order = calloc(max + 1, sizeof(*order));
	char what[2][512];
	size_t i, j;
	int ret = -1;

	if (held == NULL || plans == NULL || order == NULL)
		goto out;
	for (i = 0; i < dir->n_users; i++) {
		for (j = 0; j < roles[i].n_roles; j++) {
			int s = role_slot(roles[i].roles[j].role);

			if (s >= 0)
				held[roles[i].roles[j].org * N_ORG_ROLES + s]++;
		}
	}
	for (i = 0; i < dir->n_orgs; i++) {
		for (j = 0; j < N_ORG_ROLES; j++) {
			struct plan p = {NULL,	       0, OA_CF_KIND_ROLE, i, 0,
					 org_roles[j], 0};

			if (held[i * N_ORG_ROLES + j] == 0)
				continue;
			if (add_plan(c, plans, &n, conf->role_group_template,
				     oa_role_name(org_roles[j]), p) < 0)
				goto out;
		}
	}
	for (i = 0; i < dir->n_entities; i++) {
		const struct oa_entity *e = &dir->entities[i];
		bool project = e->kind == OA_ENTITY_PROJECT;
		struct plan p = {
		    NULL,
		    0,
		    project ? OA_CF_KIND_PROJECT : OA_CF_KIND_DATASET,
		    e->owner,
		    i,
		    0,
		    0};

		if (add_plan(c, plans, &n,
			     project ? conf->project_group_template
				     : conf->dataset_group_template,
			     e->name, p) < 0)
			goto out;
	}
	for (i = 0; i < n; i++) {
		plans[i].gid =
		    oa_group_gid(plans[i].name, conf->gid_min, conf->gid_max);
		order[i] = &plans[i];
	}
	check_gids(c, order, n);
	qsort(order, n, sizeof(*order), cmp_plan_name);
	for (i = 0; i < n; i++) {
		order[i]->final = i;
		if (i == 0 || strcmp(order[i]->name, order[i - 1]->name) != 0)
			continue;
		describe(c, order[i - 1], what[0], sizeof(what[0]));
		describe(c, order[i], what[1], sizeof(what[1]));
		problem(c, "%s and %s both make the group %s", what[0], what[1],
			order[i]->name);
	}
	*plans_out = plans;
	*order_out = order;
	*n_out = n;
	plans = NULL;
	order = NULL;
	ret = 0;
out:
	if (plans != NULL) {
		for (i = 0; i < n; i++)
			free(plans[i].name);
	}
	free(plans);
	free(order);
	free(held);
	return ret;
}

/*
 * The members of every role group, found in one pass over the users'
 * roles (a scan of all users per role group grew as organisations times
 * users).  first[g] .. first[g + 1] indexes users[], in user order.
 */
struct role_members {
	size_t *first; /* n + 1 entries */
	size_t *users;
};

/* The index of (org, role) in a table of three slots per organisation. */
static size_t
org_role_slot(size_t org, enum oa_org_role role)
{
	int slot = role_slot(role);

	return slot < 0 ? SIZE_MAX : org * 3 + (size_t)slot;
}

static int
role_members_build(const struct oa_directory *dir,
		   const struct oa_user_roles *roles, struct plan **order,
		   size_t n, struct role_members *rm)
{
	size_t *group_of = NULL, *next = NULL, total = 0, g, u, k;
	int ret = -1;

	rm->first = calloc(n + 2, sizeof(size_t));
	group_of = malloc((dir->n_orgs * 3 + 1) * sizeof(size_t));
	next = calloc(n + 1, sizeof(size_t));
	if (rm->first == NULL || group_of == NULL || next == NULL)
		goto out;
	for (k = 0; k < dir->n_orgs * 3; k++)
		group_of[k] = SIZE_MAX;
	for (g = 0; g < n; g++) {
		k = order[g]->kind == OA_CF_KIND_ROLE
			? org_role_slot(order[g]->org, order[g]->role)
			: SIZE_MAX;
		if (k != SIZE_MAX)
			group_of[k] = g;
	}
	/* count into first[g + 1], then turn the counts into offsets */
	for (u = 0; u < dir->n_users; u++) {
		for (k = 0; k < roles[u].n_roles; k++) {
			size_t slot = org_role_slot(roles[u].roles[k].org,
						    roles[u].roles[k].role);

			g = slot == SIZE_MAX ? SIZE_MAX : group_of[slot];
			if (g != SIZE_MAX)
				rm->first[g + 1]++;
		}
	}
	for (g = 0; g < n; g++) {
		total += rm->first[g + 1];
		rm->first[g + 1] = total;
		next[g] = rm->first[g];
	}
	rm->users = malloc((total + 1) * sizeof(size_t));
	if (rm->users == NULL)
		goto out;
	for (u = 0; u < dir->n_users; u++) {
		for (k = 0; k < roles[u].n_roles; k++) {
			size_t slot = org_role_slot(roles[u].roles[k].org,
						    roles[u].roles[k].role);

			g = slot == SIZE_MAX ? SIZE_MAX : group_of[slot];
			if (g != SIZE_MAX)
				rm->users[next[g]++] = u;
		}
	}
	ret = 0;
out:
	free(group_of);
	free(next);
	return ret;
}

static void
role_members_free(struct role_members *rm)
{
	free(rm->first);
	free(rm->users);
}

/*
 * Calls visit(group, user) for every membership, groups in name order and
 * users in name order inside each group.  For a project or dataset a user
 * with several roles counts once.
 */
static void
each_membership(const struct oa_directory *dir, const struct role_members *rm,
		struct plan **order, size_t n,
		void (*visit)(void *, size_t, size_t), void *arg)
{
	size_t g, k;

	for (g = 0; g < n; g++) {
		const struct plan *p = order[g];
		const struct oa_entity *e;

		if (p->kind == OA_CF_KIND_ROLE) {
			for (k = rm->first[g]; k < rm->first[g + 1]; k++)
				visit(arg, g, rm->users[k]);
			continue;
		}
		e = &dir->entities[p->entity];
		for (k = 0; k < e->n_members; k++) {
			if (k > 0 &&
			    e->members[k].user == e->members[k - 1].user)
				continue;
			visit(arg, g, e->members[k].user);
		}
	}
}

struct fill {
	struct oa_compiled *out;
	size_t *group_fill; /* next slot per group in members[] */
	size_t *user_fill;  /* next slot per user in user_groups[] */
	size_t *group_count, *user_count;
};

static void
count_visit(void *arg, size_t g, size_t u)
{
	struct fill *f = arg;

	f->group_count[g]++;
	f->user_count[u]++;
}

static void
fill_visit(void *arg, size_t g, size_t u)
{
	struct fill *f = arg;

	f->out->members[f->group_fill[g]++] = (uint32_t)u;
	f->out->user_groups[f->user_fill[u]++] = (uint32_t)g;
}

static int
fill_model(const struct oa_directory *dir, const struct oa_user_roles *roles,
	   struct plan **order, size_t n, struct oa_compiled *out)
{
	struct role_members rm = {NULL, NULL};
	struct fill f;
	size_t n_members = 0, n_roles = 0, i, j, pos;
	int ret = -1;

	memset(&f, 0, sizeof(f));
	f.out = out;
	f.group_count = calloc(n + 1, sizeof(size_t));
	f.group_fill = calloc(n + 1, sizeof(size_t));
	f.user_count = calloc(dir->n_users + 1, sizeof(size_t));
	f.user_fill = calloc(dir->n_users + 1, sizeof(size_t));
	if (f.group_count == NULL || f.group_fill == NULL ||
	    f.user_count == NULL || f.user_fill == NULL)
		goto out;
	if (role_members_build(dir, roles, order, n, &rm) < 0)
		goto out;
	each_membership(dir, &rm, order, n, count_visit, &f);
	for (i = 0; i < n; i++) {
		f.group_fill[i] = n_members;
		n_members += f.group_count[i];
	}
	pos = 0;
	for (i = 0; i < dir->n_users; i++) {
		f.user_fill[i] = pos;
		pos += f.user_count[i];
		n_roles += roles[i].n_roles;
	}
	out->members = calloc(n_members + 1, sizeof(uint32_t));
	out->user_groups = calloc(n_members + 1, sizeof(uint32_t));
	out->user_roles = calloc(n_roles + 1, sizeof(struct oa_cf_role));
	out->users = calloc(dir->n_users + 1, sizeof(*out->users));
	out->groups = calloc(n + 1, sizeof(*out->groups));
	out->orgs = calloc(dir->n_orgs + 1, sizeof(*out->orgs));
	if (out->members == NULL || out->user_groups == NULL ||
	    out->user_roles == NULL || out->users == NULL ||
	    out->groups == NULL || out->orgs == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		const struct plan *p = order[i];
		struct oa_cw_group *g = &out->groups[i];

		g->name = p->name;
		g->gid = p->gid;
		g->kind = p->kind;
		g->org = (uint32_t)p->org;
		g->entity = p->kind == OA_CF_KIND_ROLE
				? NULL
				: dir->entities[p->entity].name;
		g->role = p->kind == OA_CF_KIND_ROLE ? p->role : 0;
		g->members = out->members + f.group_fill[i];
		g->n_members = (uint32_t)f.group_count[i];
	}
	for (i = 0; i < dir->n_users; i++) {
		out->users[i].groups = out->user_groups + f.user_fill[i];
		out->users[i].n_groups = (uint32_t)f.user_count[i];
	}
	each_membership(dir, &rm, order, n, fill_visit, &f);
	pos = 0;
	for (i = 0; i < dir->n_users; i++) {
		const struct oa_user *du = &dir->users[i];
		struct oa_cw_user *u = &out->users[i];

		u->name = du->name;
		u->gecos = du->gecos;
		u->home = du->home;
		u->shell = du->shell;
		u->uid = du->uid;
		u->gid = du->gid;
		u->roles = out->user_roles + pos;
		u->n_roles = (uint32_t)roles[i].n_roles;
		for (j = 0; j < roles[i].n_roles; j++) {
			out->user_roles[pos].org =
			    (uint32_t)roles[i].roles[j].org;
			out->user_roles[pos].role = roles[i].roles[j].role;
			pos++;
		}
	}
	for (i = 0; i < dir->n_orgs; i++) {
		out->orgs[i].name = dir->orgs[i].name;
		out->orgs[i].workforce = dir->orgs[i].workforce;
		out->orgs[i].mfa_required = dir->orgs[i].mfa_required;
	}
	ret = 0;
out:
	role_members_free(&rm);
	free(f.group_count);
	free(f.group_fill);
	free(f.user_count);
	free(f.user_fill);
	return ret;
}

int
oa_compile(const struct oa_directory *dir, const struct oa_user_roles *roles,
	   const struct oa_conf *conf, int64_t built_at,
	   struct oa_compiled *out, oa_compile_report_fn *report, void *rctx)
{
	struct ctx c = {dir, report, rctx, 0};
	struct plan *plans = NULL, **order = NULL;
	size_t n = 0, i;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (plan_groups(&c, roles, conf, &plans, &order, &n) < 0)
		goto out;
	out->group_names = calloc(n + 1, sizeof(char *));
	if (out->group_names == NULL) {
		for (i = 0; i < n; i++)
			free(plans[i].name);
		goto out;
	}
	/* the names now belong to out */
	for (i = 0; i < n; i++)
		out->group_names[i] = plans[i].name;
	if (c.problems == 0 && fill_model(dir, roles, order, n, out) < 0)
		goto out;
	out->model.users = out->users;
	out->model.n_users = dir->n_users;
	out->model.groups = out->groups;
	out->model.n_groups = n;
	out->model.orgs = out->orgs;
	out->model.n_orgs = dir->n_orgs;
	out->model.built_at = built_at;
	out->model.gid_min = conf->gid_min;
	out->model.gid_max = conf->gid_max;
	ret = c.problems;
out:
	free(plans);
	free(order);
	return ret;
}

void
oa_compiled_free(struct oa_compiled *c)
{
	size_t i;

	if (c->group_names != NULL) {
		for (i = 0; c->group_names[i] != NULL; i++)
			free(c->group_names[i]);
	}
	free(c->group_names);
	free(c->users);
	free(c->groups);
	free(c->orgs);
	free(c->user_groups);
	free(c->user_roles);
	free(c->members);
	memset(c, 0, sizeof(*c));
}
