/*
 * The organisation model: organisations, users, projects and datasets as
 * read from the directory, with references resolved to indexes.
 *
 * Both directory sources (an LDIF file, an LDAP server) hand each entry to
 * oa_dir_add_entry(), the one mapping code path; oa_dir_resolve() then
 * turns member DNs into indexes, sorts everything by name so that all
 * output is deterministic, and validates.
 */
#ifndef ORGAUTH_DIRECTORY_H
#define ORGAUTH_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

enum oa_entity_kind { OA_ENTITY_PROJECT, OA_ENTITY_DATASET };

/* One attribute of an entry as a source delivers it. */
struct oa_attr {
	const char *name;
	const char *const *values; /* NUL-terminated strings */
	const size_t *lengths;	   /* lengths, to catch embedded NULs */
	size_t n_values;
};

/* Where an entry came from, for messages: "file:line" or an LDAP URI. */
struct oa_origin {
	const char *source; /* file name or server URI */
	unsigned line;	    /* 0 where unknown */
};

struct oa_org {
	/* DNs everywhere: as libldap renders them (ldap_dn_normalize's LDAPv3
	 * form), for display; references are matched case-insensitively */
	char *dn;
	char *name;
	bool workforce;
	bool mfa_required;
	size_t *admins; /* user indexes, sorted by user name */
	size_t n_admins;
	size_t *members; /* user indexes (org role member), sorted */
	size_t n_members;
};

struct oa_user {
	char *dn;
	char *name;
	/* gecos and shell are "" when the entry has none; never NULL */
	uint32_t uid;
	uint32_t gid;
	char *gecos;
	char *home;
	char *shell;
	size_t home_org;	    /* org index */
	enum oa_org_role home_role; /* OA_ROLE_ADMIN or OA_ROLE_MEMBER */
};

/* A user's role in a project or dataset. */
struct oa_membership {
	size_t user;	  /* user index */
	const char *role; /* "admin", "team_manager", ..., "user" */
};

struct oa_entity {
	enum oa_entity_kind kind;
	char *dn;
	char *name;
	size_t owner;		       /* org index */
	struct oa_membership *members; /* sorted by user name, then role */
	size_t n_members;
};

struct oa_directory {
	struct oa_org *orgs; /* sorted by name */
	size_t n_orgs;
	struct oa_user *users; /* sorted by name */
	size_t n_users;
	struct oa_entity *entities; /* projects, then datasets; by name */
	size_t n_entities;
	struct oa_dir_builder *builder; /* private: entries before resolve */
};

/* Called once per problem, with the entry's DN (NULL: not an entry). */
typedef void oa_dir_report_fn(void *ctx, const struct oa_origin *origin,
			      const char *dn, const char *message);

struct oa_directory *oa_dir_new(void);
void oa_dir_free(struct oa_directory *dir);

/*
 * Maps one entry through conf->map.  Entries of no class we know are
 * ignored.  Problems local to the entry (a missing attribute, a bad
 * number, an invalid name) are reported; returns -1 on memory exhaustion
 * only.
 */
int oa_dir_add_entry(struct oa_directory *dir, const struct oa_conf *conf,
		     const struct oa_origin *origin, const char *dn,
		     const struct oa_attr *attrs, size_t n_attrs,
		     oa_dir_report_fn *report, void *ctx);

/*
 * Resolves references, sorts, and validates the whole directory.  Every
 * problem is reported.  Returns the number of problems (0: valid), or -1
 * on memory exhaustion.  The number counts the problems reported since
 * oa_dir_new(), by oa_dir_add_entry() and the sources too.  Call it once.
 *
 * With problems, the directory still holds everything that was valid:
 * a refused entry (a duplicate, a user without a home organisation, a
 * project whose owner is missing) is left out and references to it are
 * dropped, so that every index in the result is good.
 */
int oa_dir_resolve(struct oa_directory *dir, oa_dir_report_fn *report,
		   void *ctx);

/*
 * For the sources: reports a problem that is not about one mapped entry (a
 * syntax error in the LDIF, an entry the server sent malformed) and counts
 * it, so that oa_dir_resolve() returns it among the problems.
 */
void oa_dir_report(struct oa_directory *dir, oa_dir_report_fn *report,
		   void *ctx, const struct oa_origin *origin, const char *dn,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/*
 * Reads an LDIF file with libldap's LDIF reader and adds its entries.
 * Records that cannot be parsed are reported and counted as problems.
 * Returns 0, or -1 when the file could not be read at all (reported).
 */
int oa_dir_load_ldif(struct oa_directory *dir, const struct oa_conf *conf,
		     const char *path, oa_dir_report_fn *report, void *ctx);

/* Reads the LDAP server(s) of conf->ldap_* and adds their entries.
 * Returns 0, or -1 when the directory could not be read whole (reported). */
int oa_dir_load_ldap(struct oa_directory *dir, const struct oa_conf *conf,
		     oa_dir_report_fn *report, void *ctx);

/*
 * Loads the directory the configuration names (LDIF or LDAP) and resolves
 * it.  Returns the number of problems, or -1 when the source could not be
 * read at all (reported too).
 */
int oa_dir_load(struct oa_directory *dir, const struct oa_conf *conf,
		oa_dir_report_fn *report, void *ctx);

/* Index lookups by name; -1 when absent. */
long oa_dir_find_user(const struct oa_directory *dir, const char *name);
long oa_dir_find_org(const struct oa_directory *dir, const char *name);

/* True when name is a valid Unix user or group name (POSIX portable set,
 * not starting with '-', at most 32 bytes). */
bool oa_valid_unix_name(const char *name);

/*
 * Expands a group name template: %o organisation, %r role, %n project or
 * dataset name, %% a percent sign (a NULL argument expands to nothing).
 * Returns 0, or -1 when the result does not fit in size or the template
 * holds another escape.  The result still needs oa_valid_unix_name().
 */
int oa_group_name(char *dst, size_t size, const char *template, const char *org,
		  const char *role, const char *name);

/* "project" or "dataset". */
const char *oa_entity_kind_name(enum oa_entity_kind kind);

/*
 * Role derivation.  A user's roles, one per (organisation, role), sorted
 * by organisation name then role; each with the reason(s) it holds.
 */
struct oa_role {
	size_t org;
	enum oa_org_role role;
	/* for OA_ROLE_WORKFORCE: the entities (projects, datasets) owned by
	 * org of which the user is a member, sorted; empty for home roles */
	size_t *via;
	size_t n_via;
};

struct oa_user_roles {
	struct oa_role *roles;
	size_t n_roles;
};

/* Derives the roles of every user: out[i] belongs to dir->users[i]. */
struct oa_user_roles *oa_derive_roles(const struct oa_directory *dir);
void oa_roles_free(struct oa_user_roles *roles, size_t n_users);

#endif
