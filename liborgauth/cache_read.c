/*
 * The role cache reader (cache.h).  oa_cache_open() checks the header, the
 * checksum and every offset and index in the file once, so that the
 * lookups after it may follow them without further checks.  libc only, no
 * allocation: the NSS module runs this inside any program.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "cache_format.h"

#define FNV32_OFFSET 0x811c9dc5u
#define FNV32_PRIME  0x01000193u

/*
 * A bijective 64-bit mixer (the splitmix64 finaliser).  Unlike a bare
 * multiply, whose carries only move upwards, it spreads every input bit over
 * the whole word, so that differences in two words cannot cancel out.
 */
static inline uint64_t
checksum_mix(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

/*
 * Four independent lanes over 8-byte words, so that the mixes of one block
 * run in parallel: every login and every process that maps the cache pays
 * for this pass over the whole file.  Each step is a bijection, so a change
 * confined to one word always changes the result.
 */
uint64_t
oa_cf_checksum(const unsigned char *data, size_t len)
{
	uint64_t lane[4] = {1, 2, 3, 4}, word, sum;
	size_t i, k;

	for (i = 0; i + 32 <= len; i += 32) {
		for (k = 0; k < 4; k++) {
			memcpy(&word, data + i + 8 * k, sizeof(word));
			lane[k] = checksum_mix(lane[k] ^ word);
		}
	}
	for (k = 0; i < len; i += 8, k++) {
		word = 0;
		memcpy(&word, data + i, len - i < 8 ? len - i : 8);
		lane[k] = checksum_mix(lane[k] ^ word);
	}
	sum = (uint64_t)len;
	for (k = 0; k < 4; k++)
		sum = checksum_mix(sum ^ lane[k]);
	return sum;
}

uint32_t
oa_cf_hash_name(const char *name)
{
	uint32_t h = FNV32_OFFSET;

	for (; *name != '\0'; name++) {
		h ^= (unsigned char)*name;
		h *= FNV32_PRIME;
	}
	return h;
}

uint32_t
oa_cf_hash_id(uint32_t id)
{
	/* a multiplicative mix so that consecutive ids spread out */
	uint32_t h = id * 0x9e3779b1u;

	return h ^ (h >> 16);
}

static const struct oa_cf_header *
header(const struct oa_cache_map *map)
{
	return (const struct oa_cf_header *)(const void *)map->base;
}

static const void *
section(const struct oa_cache_map *map, enum oa_cf_section_id id)
{
	return map->base + header(map)->sections[id].offset;
}

static uint64_t
section_count(const struct oa_cache_map *map, enum oa_cf_section_id id,
	      size_t record_size)
{
	return header(map)->sections[id].size / record_size;
}

static const char *
string_at(const struct oa_cache_map *map, uint32_t offset)
{
	return (const char *)section(map, OA_CF_STRINGS) + offset;
}

/* Record sizes of the sections, for the bounds checks. */
static const size_t record_sizes[OA_CF_N_SECTIONS] = {
    [OA_CF_STRINGS] = 1,
    [OA_CF_USERS] = sizeof(struct oa_cf_user),
    [OA_CF_GROUPS] = sizeof(struct oa_cf_group),
    [OA_CF_ORGS] = sizeof(struct oa_cf_org),
    [OA_CF_USER_GROUPS] = sizeof(uint32_t),
    [OA_CF_USER_ROLES] = sizeof(struct oa_cf_role),
    [OA_CF_GROUP_MEMBERS] = sizeof(uint32_t),
    [OA_CF_USER_BY_NAME] = sizeof(uint32_t),
    [OA_CF_USER_BY_UID] = sizeof(uint32_t),
    [OA_CF_GROUP_BY_NAME] = sizeof(uint32_t),
    [OA_CF_GROUP_BY_GID] = sizeof(uint32_t),
    [OA_CF_ORG_BY_NAME] = sizeof(uint32_t),
};

static bool
check_sections(const struct oa_cache_map *map)
{
	const struct oa_cf_header *h = header(map);
	size_t i;

	for (i = 0; i < OA_CF_N_SECTIONS; i++) {
		uint64_t off = h->sections[i].offset;
		uint64_t size = h->sections[i].size;

		if (off % OA_CF_ALIGN != 0 || off < h->header_size ||
		    off > map->size || size > map->size - off ||
		    size % record_sizes[i] != 0 ||
		    size / record_sizes[i] >= OA_CF_NONE)
			return false;
	}
	return true;
}

static bool
check_table(const struct oa_cache_map *map, enum oa_cf_section_id id,
	    uint64_t n_entries)
{
	uint64_t n_slots = section_count(map, id, sizeof(uint32_t));
	const uint32_t *slots = section(map, id);
	uint64_t i;

	/* a power of two with room to spare, so probes end */
	if (n_slots == 0 || (n_slots & (n_slots - 1)) != 0 ||
	    n_slots <= n_entries)
		return false;
	for (i = 0; i < n_slots; i++) {
		if (slots[i] > n_entries)
			return false;
	}
	return true;
}

static bool
check_range(uint32_t first, uint32_t count, uint64_t total)
{
	return (uint64_t)first + count <= total;
}

static bool
one_role(uint32_t role)
{
	return role == OA_ROLE_ADMIN || role == OA_ROLE_MEMBER ||
	       role == OA_ROLE_WORKFORCE;
}

static bool
check_records(const struct oa_cache_map *map)
{
	uint64_t n_str = section_count(map, OA_CF_STRINGS, 1);
	uint64_t n_users =
	    section_count(map, OA_CF_USERS, sizeof(struct oa_cf_user));
	uint64_t n_groups =
	    section_count(map, OA_CF_GROUPS, sizeof(struct oa_cf_group));
	uint64_t n_orgs =
	    section_count(map, OA_CF_ORGS, sizeof(struct oa_cf_org));
	uint64_t n_ug = section_count(map, OA_CF_USER_GROUPS, 4);
	uint64_t n_ur =
	    section_count(map, OA_CF_USER_ROLES, sizeof(struct oa_cf_role));
	uint64_t n_gm = section_count(map, OA_CF_GROUP_MEMBERS, 4);
	const struct oa_cf_user *users = section(map, OA_CF_USERS);
	const struct oa_cf_group *groups = section(map, OA_CF_GROUPS);
	const struct oa_cf_org *orgs = section(map, OA_CF_ORGS);
	const uint32_t *ug = section(map, OA_CF_USER_GROUPS);
	const struct oa_cf_role *ur = section(map, OA_CF_USER_ROLES);
	const uint32_t *gm = section(map, OA_CF_GROUP_MEMBERS);
	uint64_t i;

	/* the table ends with a NUL: every offset inside names a string */
	if (n_str == 0 || string_at(map, 0)[n_str - 1] != '\0')
		return false;
	for (i = 0; i < n_users; i++) {
		const struct oa_cf_user *u = &users[i];

		if (u->name >= n_str || u->gecos >= n_str || u->home >= n_str ||
		    u->shell >= n_str ||
		    !check_range(u->groups_first, u->groups_count, n_ug) ||
		    !check_range(u->roles_first, u->roles_count, n_ur))
			return false;
	}
	for (i = 0; i < n_groups; i++) {
		const struct oa_cf_group *g = &groups[i];

		if (g->name >= n_str || g->kind > OA_CF_KIND_DATASET ||
		    g->org >= n_orgs ||
		    (g->entity != OA_CF_NONE && g->entity >= n_str) ||
		    !check_range(g->members_first, g->members_count, n_gm))
			return false;
	}
	for (i = 0; i < n_orgs; i++) {
		if (orgs[i].name >= n_str)
			return false;
	}
	for (i = 0; i < n_ug; i++) {
		if (ug[i] >= n_groups)
			return false;
	}
	for (i = 0; i < n_ur; i++) {
		if (ur[i].org >= n_orgs || !one_role(ur[i].role))
			return false;
	}
	for (i = 0; i < n_gm; i++) {
		if (gm[i] >= n_users)
			return false;
	}
	return check_table(map, OA_CF_USER_BY_NAME, n_users) &&
	       check_table(map, OA_CF_USER_BY_UID, n_users) &&
	       check_table(map, OA_CF_GROUP_BY_NAME, n_groups) &&
	       check_table(map, OA_CF_GROUP_BY_GID, n_groups) &&
	       check_table(map, OA_CF_ORG_BY_NAME, n_orgs);
}

/* The whole check of a mapped file; see the top of this file. */
static enum oa_cache_error
check_file(const struct oa_cache_map *map)
{
	const struct oa_cf_header *h = header(map);

	if (map->size < sizeof(*h) ||
	    memcmp(h->magic, OA_CF_MAGIC, OA_CF_MAGIC_LEN) != 0 ||
	    h->version != OA_CF_VERSION || h->byte_order != OA_CF_BYTE_ORDER)
		return OA_CACHE_EFORMAT;
	if (h->checksum != oa_cf_checksum(map->base + OA_CF_SUMMED_FROM,
					  map->size - OA_CF_SUMMED_FROM))
		return OA_CACHE_ECHECKSUM;
	if (h->file_size != map->size || h->header_size != sizeof(*h) ||
	    h->n_sections != OA_CF_N_SECTIONS || !check_sections(map) ||
	    !check_records(map))
		return OA_CACHE_EFORMAT;
	return OA_CACHE_OK;
}

enum oa_cache_error
oa_cache_open(struct oa_cache_map *map, const char *path)
{
	enum oa_cache_error ret = OA_CACHE_EIO;
	struct oa_cache_map m;
	struct stat st;
	void *base;
	int fd, saved;

	memset(map, 0, sizeof(*map));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? OA_CACHE_ENOENT : OA_CACHE_EIO;
	if (fstat(fd, &st) < 0)
		goto out;
	/*
	 * Only root (or the caller itself, for private caches) may have
	 * written what every program on the host will believe.
	 */
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH)) ||
	    (st.st_uid != 0 && st.st_uid != geteuid())) {
		ret = OA_CACHE_EPERM;
		goto out;
	}
	if ((uint64_t)st.st_size < sizeof(struct oa_cf_header) ||
	    (uint64_t)st.st_size > OA_CF_MAX_FILE_SIZE) {
		ret = OA_CACHE_EFORMAT;
		goto out;
	}
	/*
	 * Shared, so that the writer's superseded mark on this very file
	 * reaches us through the mapping.
	 */
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		goto out;
	m.base = base;
	m.size = (size_t)st.st_size;
	m.dev = st.st_dev;
	m.ino = st.st_ino;
	ret = check_file(&m);
	if (ret != OA_CACHE_OK) {
		munmap(base, m.size);
		goto out;
	}
	*map = m;
out:
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

void
oa_cache_close(struct oa_cache_map *map)
{
	if (map->base != NULL)
		munmap((void *)map->base, map->size);
	memset(map, 0, sizeof(*map));
}

const char *
oa_cache_strerror(enum oa_cache_error err)
{
	switch (err) {
	case OA_CACHE_OK:
		return "ok";
	case OA_CACHE_ENOENT:
		return "no cache file";
	case OA_CACHE_EIO:
		return "cannot read the cache file";
	case OA_CACHE_EPERM:
		return "cache file not a regular file owned by root and "
		       "writable by its owner only";
	case OA_CACHE_EFORMAT:
		return "not a cache file of this version, or damaged";
	case OA_CACHE_ECHECKSUM:
		return "cache file damaged (checksum mismatch)";
	}
	return "unknown error";
}

bool
oa_cache_superseded(const struct oa_cache_map *map)
{
	const uint32_t *flags;

	if (map->base == NULL)
		return false;
	flags =
	    (const uint32_t *)(const void *)(map->base + OA_CF_FLAGS_OFFSET);
	/* another process writes it: read it fresh each time */
	return (__atomic_load_n(flags, __ATOMIC_RELAXED) & OA_CF_SUPERSEDED) !=
	       0;
}

int64_t
oa_cache_built_at(const struct oa_cache_map *map)
{
	return header(map)->built_at;
}

static void
fill_user(const struct oa_cache_map *map, uint32_t index,
	  struct oa_cache_user *out)
{
	const struct oa_cf_user *u =
	    (const struct oa_cf_user *)section(map, OA_CF_USERS) + index;

	out->index = index;
	out->name = string_at(map, u->name);
	out->uid = u->uid;
	out->gid = u->gid;
	out->gecos = string_at(map, u->gecos);
	out->home = string_at(map, u->home);
	out->shell = string_at(map, u->shell);
}

static void
fill_group(const struct oa_cache_map *map, uint32_t index,
	   struct oa_cache_group *out)
{
	const struct oa_cf_group *g =
	    (const struct oa_cf_group *)section(map, OA_CF_GROUPS) + index;
	const struct oa_cf_org *o =
	    (const struct oa_cf_org *)section(map, OA_CF_ORGS) + g->org;

	out->index = index;
	out->name = string_at(map, g->name);
	out->gid = g->gid;
	out->kind = (enum oa_group_kind)g->kind;
	out->org = string_at(map, o->name);
	out->entity =
	    g->entity == OA_CF_NONE ? NULL : string_at(map, g->entity);
	out->n_members = g->members_count;
}

static void
fill_org(const struct oa_cache_map *map, uint32_t index,
	 struct oa_cache_org *out)
{
	const struct oa_cf_org *o =
	    (const struct oa_cf_org *)section(map, OA_CF_ORGS) + index;

	out->index = index;
	out->name = string_at(map, o->name);
	out->workforce = (o->flags & OA_CF_ORG_WORKFORCE) != 0;
	out->mfa_required = (o->flags & OA_CF_ORG_MFA_REQUIRED) != 0;
}

/*
 * Probes table id for hash; match() says whether a candidate index is the
 * one sought.  Returns the index or OA_CF_NONE.
 */
static uint32_t
probe(const struct oa_cache_map *map, enum oa_cf_section_id id, uint32_t hash,
      bool (*match)(const struct oa_cache_map *, uint32_t, const void *),
      const void *key)
{
	uint64_t n_slots = section_count(map, id, sizeof(uint32_t));
	const uint32_t *slots = section(map, id);
	uint64_t mask = n_slots - 1, pos = hash & mask, n;

	for (n = 0; n < n_slots; n++, pos = (pos + 1) & mask) {
		uint32_t v = slots[pos];

		if (v == 0)
			break;
		if (match(map, v - 1, key))
			return v - 1;
	}
	return OA_CF_NONE;
}

static bool
user_name_is(const struct oa_cache_map *map, uint32_t i, const void *key)
{
	const struct oa_cf_user *u =
	    (const struct oa_cf_user *)section(map, OA_CF_USERS) + i;

	return strcmp(string_at(map, u->name), key) == 0;
}

static bool
user_uid_is(const struct oa_cache_map *map, uint32_t i, const void *key)
{
	const struct oa_cf_user *u =
	    (const struct oa_cf_user *)section(map, OA_CF_USERS) + i;

	return u->uid == *(const uint32_t *)key;
}

static bool
group_name_is(const struct oa_cache_map *map, uint32_t i, const void *key)
{
	const struct oa_cf_group *g =
	    (const struct oa_cf_group *)section(map, OA_CF_GROUPS) + i;

	return strcmp(string_at(map, g->name), key) == 0;
}

static bool
group_gid_is(const struct oa_cache_map *map, uint32_t i, const void *key)
{
	const struct oa_cf_group *g =
	    (const struct oa_cf_group *)section(map, OA_CF_GROUPS) + i;

	return g->gid == *(const uint32_t *)key;
}

static bool
org_name_is(const struct oa_cache_map *map, uint32_t i, const void *key)
{
	const struct oa_cf_org *o =
	    (const struct oa_cf_org *)section(map, OA_CF_ORGS) + i;

	return strcmp(string_at(map, o->name), key) == 0;
}

bool
oa_cache_user_by_name(const struct oa_cache_map *map, const char *name,
		      struct oa_cache_user *out)
{
	uint32_t i = probe(map, OA_CF_USER_BY_NAME, oa_cf_hash_name(name),
			   user_name_is, name);

	if (i == OA_CF_NONE)
		return false;
	fill_user(map, i, out);
	return true;
}

bool
oa_cache_user_by_uid(const struct oa_cache_map *map, uint32_t uid,
		     struct oa_cache_user *out)
{
	uint32_t i = probe(map, OA_CF_USER_BY_UID, oa_cf_hash_id(uid),
			   user_uid_is, &uid);

	if (i == OA_CF_NONE)
		return false;
	fill_user(map, i, out);
	return true;
}

bool
oa_cache_user_at(const struct oa_cache_map *map, uint32_t index,
		 struct oa_cache_user *out)
{
	if (index >= oa_cache_n_users(map))
		return false;
	fill_user(map, index, out);
	return true;
}

uint32_t
oa_cache_n_users(const struct oa_cache_map *map)
{
	return (uint32_t)section_count(map, OA_CF_USERS,
				       sizeof(struct oa_cf_user));
}

bool
oa_cache_group_by_name(const struct oa_cache_map *map, const char *name,
		       struct oa_cache_group *out)
{
	uint32_t i = probe(map, OA_CF_GROUP_BY_NAME, oa_cf_hash_name(name),
			   group_name_is, name);

	if (i == OA_CF_NONE)
		return false;
	fill_group(map, i, out);
	return true;
}

bool
oa_cache_group_by_gid(const struct oa_cache_map *map, uint32_t gid,
		      struct oa_cache_group *out)
{
	uint32_t i = probe(map, OA_CF_GROUP_BY_GID, oa_cf_hash_id(gid),
			   group_gid_is, &gid);

	if (i == OA_CF_NONE)
		return false;
	fill_group(map, i, out);
	return true;
}

bool
oa_cache_group_at(const struct oa_cache_map *map, uint32_t index,
		  struct oa_cache_group *out)
{
	if (index >= oa_cache_n_groups(map))
		return false;
	fill_group(map, index, out);
	return true;
}

uint32_t
oa_cache_n_groups(const struct oa_cache_map *map)
{
	return (uint32_t)section_count(map, OA_CF_GROUPS,
				       sizeof(struct oa_cf_group));
}

const char *
oa_cache_group_member(const struct oa_cache_map *map,
		      const struct oa_cache_group *group, uint32_t i)
{
	const struct oa_cf_group *g =
	    (const struct oa_cf_group *)section(map, OA_CF_GROUPS) +
	    group->index;
	const uint32_t *members = section(map, OA_CF_GROUP_MEMBERS);
	const struct oa_cf_user *u;

	if (i >= g->members_count)
		return NULL;
	u = (const struct oa_cf_user *)section(map, OA_CF_USERS) +
	    members[g->members_first + i];
	return string_at(map, u->name);
}

bool
oa_cache_org_by_name(const struct oa_cache_map *map, const char *name,
		     struct oa_cache_org *out)
{
	uint32_t i = probe(map, OA_CF_ORG_BY_NAME, oa_cf_hash_name(name),
			   org_name_is, name);

	if (i == OA_CF_NONE)
		return false;
	fill_org(map, i, out);
	return true;
}

uint32_t
oa_cache_n_orgs(const struct oa_cache_map *map)
{
	return (uint32_t)section_count(map, OA_CF_ORGS,
				       sizeof(struct oa_cf_org));
}

bool
oa_cache_org_at(const struct oa_cache_map *map, uint32_t index,
		struct oa_cache_org *out)
{
	if (index >= oa_cache_n_orgs(map))
		return false;
	fill_org(map, index, out);
	return true;
}

static const struct oa_cf_user *
user_record(const struct oa_cache_map *map, const struct oa_cache_user *user)
{
	return (const struct oa_cf_user *)section(map, OA_CF_USERS) +
	       user->index;
}

uint32_t
oa_cache_user_n_groups(const struct oa_cache_map *map,
		       const struct oa_cache_user *user)
{
	return user_record(map, user)->groups_count;
}

static uint32_t
user_group_index(const struct oa_cache_map *map,
		 const struct oa_cache_user *user, uint32_t i)
{
	const uint32_t *ug = section(map, OA_CF_USER_GROUPS);

	return ug[user_record(map, user)->groups_first + i];
}

uint32_t
oa_cache_user_group_gid(const struct oa_cache_map *map,
			const struct oa_cache_user *user, uint32_t i)
{
	const struct oa_cf_group *groups = section(map, OA_CF_GROUPS);

	if (i >= oa_cache_user_n_groups(map, user))
		return OA_CF_NONE;
	return groups[user_group_index(map, user, i)].gid;
}

bool
oa_cache_user_group(const struct oa_cache_map *map,
		    const struct oa_cache_user *user, uint32_t i,
		    struct oa_cache_group *out)
{
	if (i >= oa_cache_user_n_groups(map, user))
		return false;
	fill_group(map, user_group_index(map, user, i), out);
	return true;
}

uint32_t
oa_cache_user_n_roles(const struct oa_cache_map *map,
		      const struct oa_cache_user *user)
{
	return user_record(map, user)->roles_count;
}

bool
oa_cache_user_role(const struct oa_cache_map *map,
		   const struct oa_cache_user *user, uint32_t i,
		   struct oa_cache_role *out)
{
	const struct oa_cf_user *u = user_record(map, user);
	const struct oa_cf_role *r;

	if (i >= u->roles_count)
		return false;
	r = (const struct oa_cf_role *)section(map, OA_CF_USER_ROLES) +
	    u->roles_first + i;
	fill_org(map, r->org, &out->org);
	out->role = (enum oa_org_role)r->role;
	return true;
}
