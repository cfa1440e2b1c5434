/*
 * The cache writer: lays a model out in the format of cache_format.h and
 * replaces the file atomically (see cache_write.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_write.h"
#include "conf.h"

/* The string table, each distinct string kept once. */
struct strtab {
	char *data;
	size_t len, cap;
	uint32_t *slots; /* offset + 1, or 0 */
	size_t n_slots, n_used;
};

static int
strtab_grow_slots(struct strtab *st)
{
	size_t n = st->n_slots ? st->n_slots * 2 : 1024, i;
	uint32_t *slots = calloc(n, sizeof(*slots));

	if (slots == NULL)
		return -1;
	for (i = 0; i < st->n_slots; i++) {
		uint32_t v = st->slots[i];
		size_t pos;

		if (v == 0)
			continue;
		pos = oa_cf_hash_name(st->data + v - 1) & (n - 1);
		while (slots[pos] != 0)
			pos = (pos + 1) & (n - 1);
		slots[pos] = v;
	}
	free(st->slots);
	st->slots = slots;
	st->n_slots = n;
	return 0;
}

/* Adds s (NULL: the empty string); returns 0 and its offset in *off. */
static int
strtab_add(struct strtab *st, const char *s, uint32_t *off)
{
	size_t len, pos;

	if (s == NULL)
		s = "";
	if (st->n_used * 2 >= st->n_slots && strtab_grow_slots(st) < 0)
		return -1;
	pos = oa_cf_hash_name(s) & (st->n_slots - 1);
	while (st->slots[pos] != 0) {
		if (strcmp(st->data + st->slots[pos] - 1, s) == 0) {
			*off = st->slots[pos] - 1;
			return 0;
		}
		pos = (pos + 1) & (st->n_slots - 1);
	}
	len = strlen(s) + 1;
	if (st->len + len >= OA_CF_NONE - 1) {
		errno = EOVERFLOW;
		return -1;
	}
	if (st->len + len > st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 65536;
		char *data;

		while (cap < st->len + len)
			cap *= 2;
		data = realloc(st->data, cap);
		if (data == NULL)
			return -1;
		st->data = data;
		st->cap = cap;
	}
	memcpy(st->data + st->len, s, len);
	*off = (uint32_t)st->len;
	st->slots[pos] = (uint32_t)st->len + 1;
	st->len += len;
	st->n_used++;
	return 0;
}

static void
strtab_free(struct strtab *st)
{
	free(st->data);
	free(st->slots);
}

static size_t
table_slots(size_t n_entries)
{
	size_t n = 2;

	while (n < n_entries * 2 + 1)
		n *= 2;
	return n;
}

static size_t
align_up(size_t n)
{
	return (n + OA_CF_ALIGN - 1) & ~(size_t)(OA_CF_ALIGN - 1);
}

/* Equality of two entries of a table, to refuse duplicate keys. */
typedef bool same_key_fn(const struct oa_cache_model *m, size_t a, size_t b);

static bool
same_user_name(const struct oa_cache_model *m, size_t a, size_t b)
{
	return strcmp(m->users[a].name, m->users[b].name) == 0;
}

static bool
same_uid(const struct oa_cache_model *m, size_t a, size_t b)
{
	return m->users[a].uid == m->users[b].uid;
}

static bool
same_group_name(const struct oa_cache_model *m, size_t a, size_t b)
{
	return strcmp(m->groups[a].name, m->groups[b].name) == 0;
}

static bool
same_gid(const struct oa_cache_model *m, size_t a, size_t b)
{
	return m->groups[a].gid == m->groups[b].gid;
}

static bool
same_org_name(const struct oa_cache_model *m, size_t a, size_t b)
{
	return strcmp(m->orgs[a].name, m->orgs[b].name) == 0;
}

static int
table_insert(uint32_t *slots, size_t n_slots, uint32_t hash, size_t index,
	     const struct oa_cache_model *m, same_key_fn *same)
{
	size_t pos = hash & (n_slots - 1);

	while (slots[pos] != 0) {
		if (same(m, slots[pos] - 1, index)) {
			errno = EINVAL;
			return -1;
		}
		pos = (pos + 1) & (n_slots - 1);
	}
	slots[pos] = (uint32_t)index + 1;
	return 0;
}

/* Section sizes and offsets, computed before anything is written. */
struct layout {
	struct oa_cf_section s[OA_CF_N_SECTIONS];
	size_t total;
};

static int
plan_layout(const struct oa_cache_model *m, size_t strings_len,
	    size_t n_user_groups, size_t n_user_roles, size_t n_members,
	    struct layout *lay)
{
	size_t sizes[OA_CF_N_SECTIONS];
	size_t off = align_up(sizeof(struct oa_cf_header));
	size_t i;

	sizes[OA_CF_STRINGS] = strings_len;
	sizes[OA_CF_USERS] = m->n_users * sizeof(struct oa_cf_user);
	sizes[OA_CF_GROUPS] = m->n_groups * sizeof(struct oa_cf_group);
	sizes[OA_CF_ORGS] = m->n_orgs * sizeof(struct oa_cf_org);
	sizes[OA_CF_USER_GROUPS] = n_user_groups * sizeof(uint32_t);
	sizes[OA_CF_USER_ROLES] = n_user_roles * sizeof(struct oa_cf_role);
	sizes[OA_CF_GROUP_MEMBERS] = n_members * sizeof(uint32_t);
	sizes[OA_CF_USER_BY_NAME] = table_slots(m->n_users) * 4;
	sizes[OA_CF_USER_BY_UID] = table_slots(m->n_users) * 4;
	sizes[OA_CF_GROUP_BY_NAME] = table_slots(m->n_groups) * 4;
	sizes[OA_CF_GROUP_BY_GID] = table_slots(m->n_groups) * 4;
	sizes[OA_CF_ORG_BY_NAME] = table_slots(m->n_orgs) * 4;
	for (i = 0; i < OA_CF_N_SECTIONS; i++) {
		lay->s[i].offset = off;
		lay->s[i].size = sizes[i];
		off = align_up(off + sizes[i]);
		if (off >= OA_CF_MAX_FILE_SIZE) {
			errno = EOVERFLOW;
			return -1;
		}
	}
	lay->total = off;
	return 0;
}

static bool
indexes_valid(const struct oa_cache_model *m)
{
	size_t i, j;

	if (m->n_users >= OA_CF_NONE || m->n_groups >= OA_CF_NONE ||
	    m->n_orgs >= OA_CF_NONE)
		return false;
	for (i = 0; i < m->n_users; i++) {
		for (j = 0; j < m->users[i].n_groups; j++) {
			if (m->users[i].groups[j] >= m->n_groups)
				return false;
		}
		for (j = 0; j < m->users[i].n_roles; j++) {
			if (m->users[i].roles[j].org >= m->n_orgs)
				return false;
		}
	}
	for (i = 0; i < m->n_groups; i++) {
		if (m->groups[i].org >= m->n_orgs ||
		    m->groups[i].kind > OA_CF_KIND_DATASET)
			return false;
		for (j = 0; j < m->groups[i].n_members; j++) {
			if (m->groups[i].members[j] >= m->n_users)
				return false;
		}
	}
	return true;
}

/* Fills the records; strings go to st as they come. */
static int
fill_records(const struct oa_cache_model *m, unsigned char *buf,
	     const struct layout *lay, struct strtab *st)
{
	struct oa_cf_user *users = (void *)(buf + lay->s[OA_CF_USERS].offset);
	struct oa_cf_group *groups =
	    (void *)(buf + lay->s[OA_CF_GROUPS].offset);
	struct oa_cf_org *orgs = (void *)(buf + lay->s[OA_CF_ORGS].offset);
	uint32_t *ug = (void *)(buf + lay->s[OA_CF_USER_GROUPS].offset);
	struct oa_cf_role *ur = (void *)(buf + lay->s[OA_CF_USER_ROLES].offset);
	uint32_t *gm = (void *)(buf + lay->s[OA_CF_GROUP_MEMBERS].offset);
	uint32_t n_ug = 0, n_ur = 0, n_gm = 0;
	size_t i;

	for (i = 0; i < m->n_users; i++) {
		const struct oa_cw_user *u = &m->users[i];
		struct oa_cf_user *r = &users[i];

		if (strtab_add(st, u->name, &r->name) < 0 ||
		    strtab_add(st, u->gecos, &r->gecos) < 0 ||
		    strtab_add(st, u->home, &r->home) < 0 ||
		    strtab_add(st, u->shell, &r->shell) < 0)
			return -1;
		r->uid = u->uid;
		r->gid = u->gid;
		r->groups_first = n_ug;
		r->groups_count = u->n_groups;
		if (u->n_groups > 0)
			memcpy(ug + n_ug, u->groups, u->n_groups * sizeof(*ug));
		n_ug += u->n_groups;
		r->roles_first = n_ur;
		r->roles_count = u->n_roles;
		if (u->n_roles > 0)
			memcpy(ur + n_ur, u->roles, u->n_roles * sizeof(*ur));
		n_ur += u->n_roles;
	}
	for (i = 0; i < m->n_groups; i++) {
		const struct oa_cw_group *g = &m->groups[i];
		struct oa_cf_group *r = &groups[i];

		if (strtab_add(st, g->name, &r->name) < 0)
			return -1;
		r->entity = OA_CF_NONE;
		if (g->entity != NULL &&
		    strtab_add(st, g->entity, &r->entity) < 0)
			return -1;
		r->gid = g->gid;
		r->kind = g->kind;
		r->org = g->org;
		r->role = g->role;
		r->members_first = n_gm;
		r->members_count = g->n_members;
		if (g->n_members > 0)
			memcpy(gm + n_gm, g->members,
			       g->n_members * sizeof(*gm));
		n_gm += g->n_members;
	}
	for (i = 0; i < m->n_orgs; i++) {
		if (strtab_add(st, m->orgs[i].name, &orgs[i].name) < 0)
			return -1;
		orgs[i].flags =
		    (m->orgs[i].workforce ? OA_CF_ORG_WORKFORCE : 0) |
		    (m->orgs[i].mfa_required ? OA_CF_ORG_MFA_REQUIRED : 0);
	}
	return 0;
}

static int
fill_tables(const struct oa_cache_model *m, unsigned char *buf,
	    const struct layout *lay)
{
#define SLOTS(id)                                                              \
	(uint32_t *)(void *)(buf + lay->s[id].offset), lay->s[id].size / 4
	size_t i;

	for (i = 0; i < m->n_users; i++) {
		if (table_insert(SLOTS(OA_CF_USER_BY_NAME),
				 oa_cf_hash_name(m->users[i].name), i, m,
				 same_user_name) < 0 ||
		    table_insert(SLOTS(OA_CF_USER_BY_UID),
				 oa_cf_hash_id(m->users[i].uid), i, m,
				 same_uid) < 0)
			return -1;
	}
	for (i = 0; i < m->n_groups; i++) {
		if (table_insert(SLOTS(OA_CF_GROUP_BY_NAME),
				 oa_cf_hash_name(m->groups[i].name), i, m,
				 same_group_name) < 0 ||
		    table_insert(SLOTS(OA_CF_GROUP_BY_GID),
				 oa_cf_hash_id(m->groups[i].gid), i, m,
				 same_gid) < 0)
			return -1;
	}
	for (i = 0; i < m->n_orgs; i++) {
		if (table_insert(SLOTS(OA_CF_ORG_BY_NAME),
				 oa_cf_hash_name(m->orgs[i].name), i, m,
				 same_org_name) < 0)
			return -1;
	}
#undef SLOTS
	return 0;
}

int
oa_cache_serialize(const struct oa_cache_model *m, unsigned char **out,
		   size_t *out_len)
{
	struct strtab st;
	struct layout lay;
	struct oa_cf_header *h;
	unsigned char *buf = NULL;
	size_t n_ug = 0, n_ur = 0, n_gm = 0, i;
	uint32_t empty;
	int ret = -1;

	memset(&st, 0, sizeof(st));
	if (!indexes_valid(m)) {
		errno = EINVAL;
		goto out;
	}
	for (i = 0; i < m->n_users; i++) {
		n_ug += m->users[i].n_groups;
		n_ur += m->users[i].n_roles;
	}
	for (i = 0; i < m->n_groups; i++)
		n_gm += m->groups[i].n_members;
	if (n_ug >= OA_CF_NONE || n_ur >= OA_CF_NONE || n_gm >= OA_CF_NONE) {
		errno = EOVERFLOW;
		goto out;
	}
	/*
	 * The string table's size is known only once the records are
	 * filled, so lay the records out in a buffer planned with no
	 * strings, then move the string table in front of them.  Offset 0
	 * holds "" so that empty fields share it.
	 */
	if (strtab_add(&st, "", &empty) < 0 ||
	    plan_layout(m, 0, n_ug, n_ur, n_gm, &lay) < 0)
		goto out;
	buf = calloc(1, lay.total);
	if (buf == NULL)
		goto out;
	if (fill_records(m, buf, &lay, &st) < 0)
		goto out;
	{
		struct layout final;
		unsigned char *nbuf;

		if (plan_layout(m, st.len, n_ug, n_ur, n_gm, &final) < 0)
			goto out;
		nbuf = calloc(1, final.total);
		if (nbuf == NULL)
			goto out;
		for (i = OA_CF_USERS; i < OA_CF_N_SECTIONS; i++)
			memcpy(nbuf + final.s[i].offset, buf + lay.s[i].offset,
			       lay.s[i].size);
		memcpy(nbuf + final.s[OA_CF_STRINGS].offset, st.data, st.len);
		free(buf);
		buf = nbuf;
		lay = final;
	}
	if (fill_tables(m, buf, &lay) < 0)
		goto out;

	h = (struct oa_cf_header *)(void *)buf;
	memcpy(h->magic, OA_CF_MAGIC, OA_CF_MAGIC_LEN);
	h->version = OA_CF_VERSION;
	h->byte_order = OA_CF_BYTE_ORDER;
	h->flags = 0;
	h->file_size = lay.total;
	h->built_at = m->built_at;
	h->header_size = sizeof(*h);
	h->n_sections = OA_CF_N_SECTIONS;
	h->gid_min = m->gid_min;
	h->gid_max = m->gid_max;
	memcpy(h->sections, lay.s, sizeof(lay.s));
	h->checksum = oa_cf_checksum(buf + OA_CF_SUMMED_FROM,
				     lay.total - OA_CF_SUMMED_FROM);
	*out = buf;
	*out_len = lay.total;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	strtab_free(&st);
	return ret;
}

static int
write_all(int fd, const unsigned char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Sets or clears the superseded flag of the cache at fd, if it is one.
 * Returns 0 (also when it is not a cache: nothing to mark) or -1.
 */
static int
mark_superseded(int fd, bool on)
{
	struct oa_cf_header h;
	uint32_t flags;
	ssize_t n;

	n = pread(fd, &h, sizeof(h), 0);
	if (n != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, OA_CF_MAGIC, OA_CF_MAGIC_LEN) != 0 ||
	    h.byte_order != OA_CF_BYTE_ORDER)
		return 0;
	flags =
	    on ? (h.flags | OA_CF_SUPERSEDED) : (h.flags & ~OA_CF_SUPERSEDED);
	if (pwrite(fd, &flags, sizeof(flags), OA_CF_FLAGS_OFFSET) !=
	    (ssize_t)sizeof(flags))
		return -1;
	return 0;
}

static void
set_err(char *err, size_t size, const char *what, const char *path)
{
	snprintf(err, size, "%s %s: %s", what, path, strerror(errno));
}

int
oa_cache_replace(const char *path, const unsigned char *data, size_t len,
		 char *err, size_t err_size)
{
	char tmp[4096], dir[4096];
	int fd = -1, old_fd = -1, dir_fd = -1, ret = -1, saved;
	bool marked = false, renamed = false;

	if (snprintf(tmp, sizeof(tmp), "%s.new.XXXXXX", path) >=
		(int)sizeof(tmp) ||
	    snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		errno = ENAMETOOLONG;
		set_err(err, err_size, "cannot write", path);
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		set_err(err, err_size, "cannot create a temporary file for",
			path);
		goto out;
	}
	if (fchmod(fd, 0644) < 0 || write_all(fd, data, len) < 0 ||
	    fsync(fd) < 0) {
		set_err(err, err_size, "cannot write", tmp);
		goto out;
	}
	dir_fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0) {
		set_err(err, err_size, "cannot open the folder of", path);
		goto out;
	}
	/*
	 * Mark the file readers have mapped before it is replaced: a reader
	 * that sees the mark and finds the same file still in place keeps
	 * using it and looks again later, so marking first loses nothing,
	 * while marking after the rename could be lost to a crash and leave
	 * readers on the old data for good.
	 */
	old_fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (old_fd < 0 && errno != ENOENT) {
		set_err(err, err_size, "cannot open", path);
		goto out;
	}
	if (old_fd >= 0) {
		if (mark_superseded(old_fd, true) < 0) {
			set_err(err, err_size, "cannot mark", path);
			goto out;
		}
		marked = true;
	}
	if (rename(tmp, path) < 0) {
		set_err(err, err_size, "cannot rename the new cache to", path);
		goto out;
	}
	renamed = true;
	if (fsync(dir_fd) < 0) {
		set_err(err, err_size, "cannot sync the folder of", path);
		goto out;
	}
	ret = 0;
out:
	saved = errno;
	if (!renamed && fd >= 0)
		unlink(tmp);
	/* a failed replacement leaves the old file in use, unmarked */
	if (marked && !renamed)
		(void)mark_superseded(old_fd, false);
	if (fd >= 0)
		close(fd);
	if (old_fd >= 0)
		close(old_fd);
	if (dir_fd >= 0)
		close(dir_fd);
	errno = saved;
	return ret;
}

int
oa_cache_lock(const char *path)
{
	char lock[4096];
	int fd;

	if (snprintf(lock, sizeof(lock), "%s.lock", path) >=
	    (int)sizeof(lock)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int saved = errno;

			close(fd);
			errno = saved;
			return -1;
		}
	}
	return fd;
}
