/*
 * Reading the role cache: the binary file `orgauthctl sync` compiles from
 * the directory (the format is in cache_format.h).  Used by the NSS module,
 * the PAM module and orgauthctl.  libc only; no allocation: a mapping and
 * views that point into it.
 */
#ifndef ORGAUTH_CACHE_H
#define ORGAUTH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"

enum oa_cache_error {
	OA_CACHE_OK = 0,
	OA_CACHE_ENOENT,   /* no cache file */
	OA_CACHE_EIO,	   /* open, stat or mmap failed (errno kept) */
	OA_CACHE_EPERM,	   /* not a regular file, writable by group or
			      others, or owned by neither root nor the
			      caller */
	OA_CACHE_EFORMAT,  /* bad magic, version, size or offsets */
	OA_CACHE_ECHECKSUM /* contents do not match the checksum */
};

struct oa_cache_map {
	const unsigned char *base;
	size_t size;
	dev_t dev;
	ino_t ino;
};

/* Maps path read-only and verifies header, bounds and checksum. */
enum oa_cache_error oa_cache_open(struct oa_cache_map *map, const char *path);
void oa_cache_close(struct oa_cache_map *map);
const char *oa_cache_strerror(enum oa_cache_error err);

/* True once a newer cache has been renamed over this one (the writer
 * marks the old file before the rename). */
bool oa_cache_superseded(const struct oa_cache_map *map);

/* Seconds since the epoch when sync built it. */
int64_t oa_cache_built_at(const struct oa_cache_map *map);

enum oa_group_kind {
	OA_GROUP_ROLE,	  /* <org>-<role> */
	OA_GROUP_PROJECT, /* one per project */
	OA_GROUP_DATASET, /* one per dataset */
};

struct oa_cache_user {
	uint32_t index;
	const char *name;
	uint32_t uid;
	uint32_t gid;
	const char *gecos;
	const char *home;
	const char *shell;
};

struct oa_cache_group {
	uint32_t index;
	const char *name;
	uint32_t gid;
	enum oa_group_kind kind;
	const char *org;    /* the organisation it belongs to */
	const char *entity; /* the project or dataset name; NULL for roles */
	uint32_t n_members;
};

struct oa_cache_org {
	uint32_t index;
	const char *name;
	bool workforce;
	bool mfa_required;
};

/* A role the user holds: OA_ROLE_ADMIN, _MEMBER or _WORKFORCE in org. */
struct oa_cache_role {
	struct oa_cache_org org;
	enum oa_org_role role;
};

/* Lookups return true and fill *out when found. */
bool oa_cache_user_by_name(const struct oa_cache_map *map, const char *name,
			   struct oa_cache_user *out);
bool oa_cache_user_by_uid(const struct oa_cache_map *map, uint32_t uid,
			  struct oa_cache_user *out);
bool oa_cache_user_at(const struct oa_cache_map *map, uint32_t index,
		      struct oa_cache_user *out);
uint32_t oa_cache_n_users(const struct oa_cache_map *map);

bool oa_cache_group_by_name(const struct oa_cache_map *map, const char *name,
			    struct oa_cache_group *out);
bool oa_cache_group_by_gid(const struct oa_cache_map *map, uint32_t gid,
			   struct oa_cache_group *out);
bool oa_cache_group_at(const struct oa_cache_map *map, uint32_t index,
		       struct oa_cache_group *out);
uint32_t oa_cache_n_groups(const struct oa_cache_map *map);
/* The i-th member's user name. */
const char *oa_cache_group_member(const struct oa_cache_map *map,
				  const struct oa_cache_group *group,
				  uint32_t i);

bool oa_cache_org_by_name(const struct oa_cache_map *map, const char *name,
			  struct oa_cache_org *out);
bool oa_cache_org_at(const struct oa_cache_map *map, uint32_t index,
		     struct oa_cache_org *out);
uint32_t oa_cache_n_orgs(const struct oa_cache_map *map);

/* The supplementary groups of a user (the user -> groups index). */
uint32_t oa_cache_user_n_groups(const struct oa_cache_map *map,
				const struct oa_cache_user *user);
uint32_t oa_cache_user_group_gid(const struct oa_cache_map *map,
				 const struct oa_cache_user *user, uint32_t i);
/* ... and the same as a group view (to see kind, org, entity). */
bool oa_cache_user_group(const struct oa_cache_map *map,
			 const struct oa_cache_user *user, uint32_t i,
			 struct oa_cache_group *out);

/* The roles of a user, sorted by organisation name then role. */
uint32_t oa_cache_user_n_roles(const struct oa_cache_map *map,
			       const struct oa_cache_user *user);
bool oa_cache_user_role(const struct oa_cache_map *map,
			const struct oa_cache_user *user, uint32_t i,
			struct oa_cache_role *out);

#endif
