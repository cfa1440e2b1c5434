/*
 * Compiling the directory and the derived roles into the cache model:
 * which Unix groups exist, their GIDs and members, each user's groups.
 *
 * Groups: one per organisation role that anyone holds
 * (conf->role_group_template, %o organisation, %r role), one per project
 * and one per dataset (conf->project_group_template and
 * dataset_group_template, %o owning organisation, %n name; %% is a '%').
 *
 * GIDs: gid_min + (FNV-1a-64(group name) mod (gid_max - gid_min + 1)).
 * A group's GID depends on its name and the range only, so every host that
 * reads the same directory computes the same GIDs, and adding or removing
 * other entries never moves them.  Two groups on one GID, or a GID that is
 * a user's primary GID, fail the compilation naming both.
 */
#ifndef ORGAUTH_COMPILE_H
#define ORGAUTH_COMPILE_H

#include <stdint.h>

#include "cache_write.h"
#include "conf.h"
#include "directory.h"

struct oa_compiled {
	struct oa_cache_model model;
	/* storage behind the model */
	struct oa_cw_user *users;
	struct oa_cw_group *groups;
	struct oa_cw_org *orgs;
	char **group_names;
	uint32_t *user_groups;
	struct oa_cf_role *user_roles;
	uint32_t *members;
};

typedef void oa_compile_report_fn(void *ctx, const char *message);

/*
 * Fills out from dir and roles (roles[i] belongs to dir->users[i]).  Every
 * problem is reported.  Returns the number of problems (0: out is ready),
 * or -1 on memory exhaustion.  out is freed with oa_compiled_free in
 * every case.
 */
int oa_compile(const struct oa_directory *dir,
	       const struct oa_user_roles *roles, const struct oa_conf *conf,
	       int64_t built_at, struct oa_compiled *out,
	       oa_compile_report_fn *report, void *ctx);
void oa_compiled_free(struct oa_compiled *c);

/* The GID of a group name (see above). */
uint32_t oa_group_gid(const char *name, uint32_t gid_min, uint32_t gid_max);

/*
 * Expands a group name template: %o becomes org, %r and %n become arg,
 * %% a '%'.  Returns 0, or -1 when the result does not fit size or the
 * template holds another '%' sequence.
 */
int oa_expand_group_template(char *out, size_t size, const char *tmpl,
			     const char *org, const char *arg);

#endif
