/*
 * Role derivation (DESIGN.md, "The Workforce rule"): every user holds their
 * home role in their home organisation; a user whose home organisation is
 * a Workforce organisation also holds the workforce role in each other
 * organisation that owns a project or dataset they are a member of, for
 * as long as such a membership exists.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "directory.h"

void
oa_roles_free(struct oa_user_roles *roles, size_t n_users)
{
	size_t i, j;

	if (roles == NULL)
		return;
	for (i = 0; i < n_users; i++) {
		for (j = 0; j < roles[i].n_roles; j++)
			free(roles[i].roles[j].via);
		free(roles[i].roles);
	}
	free(roles);
}

/* Adds entity e to the user's workforce role in org, keeping roles sorted
 * by organisation and each via list sorted and free of repeats. */
static int
add_workforce(struct oa_user_roles *ur, size_t org, size_t e)
{
	struct oa_role *r;
	size_t i, *via;

	for (i = 0; i < ur->n_roles; i++) {
		if (ur->roles[i].org == org &&
		    ur->roles[i].role == OA_ROLE_WORKFORCE)
			break;
		if (ur->roles[i].org > org)
			break;
	}
	if (i == ur->n_roles || ur->roles[i].org != org ||
	    ur->roles[i].role != OA_ROLE_WORKFORCE) {
		r = realloc(ur->roles, (ur->n_roles + 1) * sizeof(*r));
		if (r == NULL)
			return -1;
		ur->roles = r;
		memmove(&r[i + 1], &r[i], (ur->n_roles - i) * sizeof(*r));
		memset(&r[i], 0, sizeof(*r));
		r[i].org = org;
		r[i].role = OA_ROLE_WORKFORCE;
		ur->n_roles++;
	}
	r = &ur->roles[i];
	/* entities are visited in index order: a repeat is the last one */
	if (r->n_via > 0 && r->via[r->n_via - 1] == e)
		return 0;
	via = realloc(r->via, (r->n_via + 1) * sizeof(*via));
	if (via == NULL)
		return -1;
	via[r->n_via++] = e;
	r->via = via;
	return 0;
}

struct oa_user_roles *
oa_derive_roles(const struct oa_directory *dir)
{
	struct oa_user_roles *out;
	size_t i, j;

	out = calloc(dir->n_users + 1, sizeof(*out));
	if (out == NULL)
		return NULL;
	for (i = 0; i < dir->n_users; i++) {
		out[i].roles = calloc(1, sizeof(*out[i].roles));
		if (out[i].roles == NULL)
			goto fail;
		out[i].roles[0].org = dir->users[i].home_org;
		out[i].roles[0].role = dir->users[i].home_role;
		out[i].n_roles = 1;
	}
	for (i = 0; i < dir->n_entities; i++) {
		const struct oa_entity *e = &dir->entities[i];

		for (j = 0; j < e->n_members; j++) {
			const struct oa_user *u =
			    &dir->users[e->members[j].user];

			if (u->home_org == e->owner ||
			    !dir->orgs[u->home_org].workforce)
				continue;
			if (add_workforce(&out[e->members[j].user], e->owner,
					  i) < 0)
				goto fail;
		}
	}
	return out;
fail:
	oa_roles_free(out, dir->n_users);
	return NULL;
}
