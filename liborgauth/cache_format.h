/*
 * The on-disk layout of the role cache written by `orgauthctl sync` and
 * read through cache.h.
 *
 * One file: a fixed header, then sections found through the header's
 * section table.  Everything is an offset or an index, never a pointer, so
 * the file is used in place from a read-only mapping.  Integers are in the
 * writer's native byte order; the header carries a byte-order marker and a
 * reader on a machine of the other order refuses the file.
 *
 * Every section starts on an 8-byte boundary so its records can be read
 * straight from the mapping.  Indexes in records refer to the arrays of
 * the other sections (user index, group index, org index).  Strings are
 * NUL-terminated, kept once each in the string table and referred to by
 * their offset in it; the table ends with a NUL so any offset inside it
 * names a terminated string.
 *
 * Hash tables use open addressing with linear probing over a power-of-two
 * number of slots.  A slot holds index + 1, or 0 when empty.  The table is
 * at most half full, so a probe always meets an empty slot.
 *
 * The checksum covers every byte after the checksum field up to the end of
 * the file; the first bytes (magic, version, byte order, flags, checksum)
 * are checked on their own.  The flags word is outside the checksum
 * because sync sets OA_CF_SUPERSEDED in the old file just before it
 * renames the new one over it.
 */
#ifndef ORGAUTH_CACHE_FORMAT_H
#define ORGAUTH_CACHE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define OA_CF_MAGIC	 "ORGAUTHC"
#define OA_CF_MAGIC_LEN	 8
#define OA_CF_VERSION	 2 /* 2: the four-lane mixing checksum */
#define OA_CF_BYTE_ORDER 0x01020304u
#define OA_CF_ALIGN	 8
#define OA_CF_NONE	 0xffffffffu /* "no string" / "no index" */

/* Header flags. */
#define OA_CF_SUPERSEDED 0x1u /* a newer file has replaced this one */

enum oa_cf_section_id {
	OA_CF_STRINGS,	     /* char[] */
	OA_CF_USERS,	     /* struct oa_cf_user[], sorted by name */
	OA_CF_GROUPS,	     /* struct oa_cf_group[], sorted by name */
	OA_CF_ORGS,	     /* struct oa_cf_org[], sorted by name */
	OA_CF_USER_GROUPS,   /* uint32_t group indexes */
	OA_CF_USER_ROLES,    /* struct oa_cf_role[] */
	OA_CF_GROUP_MEMBERS, /* uint32_t user indexes */
	OA_CF_USER_BY_NAME,  /* uint32_t slots */
	OA_CF_USER_BY_UID,   /* uint32_t slots */
	OA_CF_GROUP_BY_NAME, /* uint32_t slots */
	OA_CF_GROUP_BY_GID,  /* uint32_t slots */
	OA_CF_ORG_BY_NAME,   /* uint32_t slots */
	OA_CF_N_SECTIONS
};

struct oa_cf_section {
	uint64_t offset; /* from the start of the file, OA_CF_ALIGN-aligned */
	uint64_t size;	 /* in bytes, a multiple of the record size */
};

struct oa_cf_header {
	/* checked on their own, outside the checksum */
	char magic[OA_CF_MAGIC_LEN];
	uint32_t version;
	uint32_t byte_order;
	uint32_t flags; /* OA_CF_SUPERSEDED; written in place by sync */
	uint32_t reserved0;
	uint64_t checksum; /* oa_cf_checksum of [OA_CF_SUMMED_FROM, size) */
	/* covered by the checksum from here on */
	uint64_t file_size;
	int64_t built_at; /* seconds since the epoch */
	uint32_t header_size;
	uint32_t n_sections;
	uint32_t gid_min; /* the range the group ids were hashed into */
	uint32_t gid_max;
	uint32_t reserved[8];
	struct oa_cf_section sections[OA_CF_N_SECTIONS];
};

#define OA_CF_FLAGS_OFFSET offsetof(struct oa_cf_header, flags)
#define OA_CF_SUMMED_FROM  offsetof(struct oa_cf_header, file_size)
/* The writer refuses to produce anything larger. */
#define OA_CF_MAX_FILE_SIZE ((uint64_t)1 << 32)

struct oa_cf_user {
	uint32_t name; /* string offsets */
	uint32_t gecos;
	uint32_t home;
	uint32_t shell;
	uint32_t uid;
	uint32_t gid;	       /* primary group, from the directory entry */
	uint32_t groups_first; /* into OA_CF_USER_GROUPS */
	uint32_t groups_count; /* sorted by group name */
	uint32_t roles_first;  /* into OA_CF_USER_ROLES */
	uint32_t roles_count;  /* sorted by org name, then role */
	uint32_t reserved[2];
};

/* Values of oa_cf_group.kind (the same as enum oa_group_kind). */
#define OA_CF_KIND_ROLE	   0
#define OA_CF_KIND_PROJECT 1
#define OA_CF_KIND_DATASET 2

struct oa_cf_group {
	uint32_t name;
	uint32_t gid;
	uint32_t kind;
	uint32_t org;		/* org index */
	uint32_t entity;	/* string offset, OA_CF_NONE for role groups */
	uint32_t role;		/* OA_ROLE_* for role groups, else 0 */
	uint32_t members_first; /* into OA_CF_GROUP_MEMBERS */
	uint32_t members_count; /* sorted by user name */
};

/* Bits of oa_cf_org.flags. */
#define OA_CF_ORG_WORKFORCE    0x1u
#define OA_CF_ORG_MFA_REQUIRED 0x2u

struct oa_cf_org {
	uint32_t name;
	uint32_t flags;
};

struct oa_cf_role {
	uint32_t org;  /* org index */
	uint32_t role; /* one OA_ROLE_* bit */
};

/*
 * The checksum: four 64-bit lanes over the file's 8-byte words, each word
 * folded into its lane with a bijective mix (see cache_read.c), then the
 * lanes folded with the length.  Not cryptographic: it catches truncation
 * and corruption, the file's mode guards against tampering.
 */
uint64_t oa_cf_checksum(const unsigned char *data, size_t len);

/* Hashes used by the tables: FNV-1a of a name, a mix of an id. */
uint32_t oa_cf_hash_name(const char *name);
uint32_t oa_cf_hash_id(uint32_t id);

#endif
