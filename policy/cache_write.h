/*
 * Writing the role cache: a model of users, groups and organisations laid
 * out as liborgauth/cache_format.h says, and the atomic replacement of the
 * file that the NSS and PAM modules map.
 */
#ifndef ORGAUTH_CACHE_WRITE_H
#define ORGAUTH_CACHE_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache_format.h"

/*
 * The model.  Arrays are in the order they are to be enumerated (by name);
 * indexes refer to the other arrays.  Names must be unique in their array,
 * and so must uids and gids.
 */
struct oa_cw_user {
	const char *name;
	const char *gecos;
	const char *home;
	const char *shell;
	uint32_t uid;
	uint32_t gid;
	const uint32_t *groups; /* group indexes, by group name */
	uint32_t n_groups;
	const struct oa_cf_role *roles; /* by org name, then role */
	uint32_t n_roles;
};

struct oa_cw_group {
	const char *name;
	uint32_t gid;
	uint32_t kind;		 /* OA_CF_KIND_* */
	uint32_t org;		 /* org index */
	const char *entity;	 /* project or dataset name; NULL for roles */
	uint32_t role;		 /* OA_ROLE_* for role groups */
	const uint32_t *members; /* user indexes, by user name */
	uint32_t n_members;
};

struct oa_cw_org {
	const char *name;
	bool workforce;
	bool mfa_required;
};

struct oa_cache_model {
	const struct oa_cw_user *users;
	size_t n_users;
	const struct oa_cw_group *groups;
	size_t n_groups;
	const struct oa_cw_org *orgs;
	size_t n_orgs;
	int64_t built_at;
	uint32_t gid_min, gid_max;
};

/*
 * Lays the model out as a cache file in a new buffer (*out, *out_len; the
 * caller frees it).  Returns 0, or -1 with errno: ENOMEM, EOVERFLOW (too
 * large for the format), EINVAL (a duplicate name or id, an index out of
 * range).
 */
int oa_cache_serialize(const struct oa_cache_model *model, unsigned char **out,
		       size_t *out_len);

/*
 * Replaces the cache at path with data: writes a temporary file in the
 * same folder (mode 0644), fsyncs it, marks the current file (if it is a
 * cache) superseded, renames the new one over it and fsyncs the folder.
 * Readers see the old file or the new one, never a mix.  The caller
 * serialises writers (a lock file).  Returns 0, or -1 with errno and a
 * message in err.
 */
int oa_cache_replace(const char *path, const unsigned char *data, size_t len,
		     char *err, size_t err_size);

/*
 * Takes the writers' lock: an exclusive flock on path + ".lock", waiting
 * for it.  Returns the descriptor to close, or -1 with errno.
 */
int oa_cache_lock(const char *path);

#endif
