/*
 * The organisation model: the builder that both directory sources feed,
 * the mapping of one entry through the configured attribute names, and the
 * resolution of member DNs with the validation of the whole directory.
 *
 * Entries are kept as "raw" entries until oa_dir_resolve(); an entry with
 * a problem of its own is kept but marked rejected, so that references to
 * it are dropped quietly instead of being reported a second time as
 * dangling.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lber.h>
#include <ldap.h>

#include "directory.h"

/* Longest gecos, home or shell we accept; far above any real one. */
#define TEXT_MAX 1024
#define MSG_MAX	 1024

enum raw_kind { RAW_USER, RAW_ORG, RAW_PROJECT, RAW_DATASET };

/* The DN-valued attributes we follow, with the role each one gives. */
enum ref_kind {
	REF_ORG_ADMIN,
	REF_ORG_MEMBER,
	REF_PROJECT_ADMIN,
	REF_TEAM_MANAGER,
	REF_REVIEWER,
	REF_ANNOTATOR,
	REF_ANNOTATOR_REVIEWER,
	REF_DATASET_ADMIN,
	REF_DATASET_USER,
	N_REF_KINDS
};

static const struct ref_def {
	const char *role;
	size_t map_offset; /* attribute name in struct oa_conf_mapping */
} ref_defs[N_REF_KINDS] = {
    {"admin", offsetof(struct oa_conf_mapping, org_admin)},
    {"member", offsetof(struct oa_conf_mapping, org_member)},
    {"admin", offsetof(struct oa_conf_mapping, role_admin)},
    {"team_manager", offsetof(struct oa_conf_mapping, role_team_manager)},
    {"reviewer", offsetof(struct oa_conf_mapping, role_reviewer)},
    {"annotator", offsetof(struct oa_conf_mapping, role_annotator)},
    {"annotator_reviewer",
     offsetof(struct oa_conf_mapping, role_annotator_reviewer)},
    {"admin", offsetof(struct oa_conf_mapping, role_admin)},
    {"user", offsetof(struct oa_conf_mapping, role_dataset_user)},
};

struct raw_ref {
	char *key;  /* comparison form of the DN */
	char *text; /* the DN as the source wrote it, for messages */
	enum ref_kind kind;
	size_t target; /* raw index, once resolved */
};

struct raw_entry {
	enum raw_kind kind;
	char *dn;  /* libldap's LDAPv3 rendering of the DN */
	char *key; /* comparison form */
	struct oa_origin origin;
	size_t seq; /* input order, to break ties */
	bool rejected;

	char *name;
	/* users */
	uint32_t uid, gid;
	char *gecos, *home, *shell;
	size_t n_homes;	   /* organisations listing this user */
	size_t last_org;   /* the last of them, orgs going in name order */
	size_t home_org;   /* the first of them */
	bool home_refused; /* listed by an organisation that was refused */
	enum oa_org_role home_role;
	/* organisations */
	bool workforce, mfa_required;
	/* organisations: admins and members; entities: members */
	struct raw_ref *refs;
	size_t n_refs;
	/* entities */
	struct raw_ref owner;
	size_t final; /* index in the resolved arrays */
};

struct oa_dir_builder {
	struct raw_entry *entries;
	size_t n_entries, cap_entries;
	char **sources; /* interned origin names */
	size_t n_sources;
	bool have_conf;
	struct oa_conf_mapping map;
	char role_template[OA_CONF_NAME_LEN];
	char project_template[OA_CONF_NAME_LEN];
	char dataset_template[OA_CONF_NAME_LEN];
	int problems;
};

/* The context of one oa_dir_add_entry() call. */
struct entry_ctx {
	struct oa_dir_builder *b;
	const struct oa_origin *origin;
	const char *dn;
	const struct oa_attr *attrs;
	size_t n_attrs;
	oa_dir_report_fn *report;
	void *report_ctx;
	bool bad; /* a problem was found in this entry */
};

static void
vreport(struct oa_dir_builder *b, oa_dir_report_fn *report, void *ctx,
	const struct oa_origin *origin, const char *dn, const char *fmt,
	va_list ap)
{
	char msg[MSG_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	b->problems++;
	if (report != NULL)
		report(ctx, origin, dn, msg);
}

static void entry_problem(struct entry_ctx *ec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
entry_problem(struct entry_ctx *ec, const char *fmt, ...)
{
	va_list ap;

	ec->bad = true;
	va_start(ap, fmt);
	vreport(ec->b, ec->report, ec->report_ctx, ec->origin, ec->dn, fmt, ap);
	va_end(ap);
}

struct oa_directory *
oa_dir_new(void)
{
	struct oa_directory *dir;

	dir = calloc(1, sizeof(*dir));
	if (dir == NULL)
		return NULL;
	dir->builder = calloc(1, sizeof(*dir->builder));
	if (dir->builder == NULL) {
		free(dir);
		return NULL;
	}
	return dir;
}

static void
free_ref(struct raw_ref *r)
{
	free(r->key);
	free(r->text);
}

static void
free_raw(struct raw_entry *e)
{
	size_t i;

	free(e->dn);
	free(e->key);
	free(e->name);
	free(e->gecos);
	free(e->home);
	free(e->shell);
	for (i = 0; i < e->n_refs; i++)
		free_ref(&e->refs[i]);
	free(e->refs);
	free_ref(&e->owner);
}

static void
free_builder(struct oa_dir_builder *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n_entries; i++)
		free_raw(&b->entries[i]);
	free(b->entries);
	for (i = 0; i < b->n_sources; i++)
		free(b->sources[i]);
	free(b->sources);
	free(b);
}

void
oa_dir_free(struct oa_directory *dir)
{
	size_t i;

	if (dir == NULL)
		return;
	for (i = 0; i < dir->n_orgs; i++) {
		free(dir->orgs[i].dn);
		free(dir->orgs[i].name);
		free(dir->orgs[i].admins);
		free(dir->orgs[i].members);
	}
	free(dir->orgs);
	for (i = 0; i < dir->n_users; i++) {
		free(dir->users[i].dn);
		free(dir->users[i].name);
		free(dir->users[i].gecos);
		free(dir->users[i].home);
		free(dir->users[i].shell);
	}
	free(dir->users);
	for (i = 0; i < dir->n_entities; i++) {
		free(dir->entities[i].dn);
		free(dir->entities[i].name);
		free(dir->entities[i].members);
	}
	free(dir->entities);
	free_builder(dir->builder);
	free(dir);
}

void
oa_dir_report(struct oa_directory *dir, oa_dir_report_fn *report, void *ctx,
	      const struct oa_origin *origin, const char *dn, const char *fmt,
	      ...)
{
	struct oa_dir_builder scratch;
	va_list ap;

	memset(&scratch, 0, sizeof(scratch));
	va_start(ap, fmt);
	vreport(dir->builder != NULL ? dir->builder : &scratch, report, ctx,
		origin, dn, fmt, ap);
	va_end(ap);
}

/* ---- small helpers ---- */

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool
valid_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	unsigned long cp;

	while (i < len) {
		unsigned char c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	}
	return false;
}

static bool
has_control_bytes(const struct berval *bv)
{
	size_t i;

	for (i = 0; i < bv->bv_len; i++) {
		unsigned char c = (unsigned char)bv->bv_val[i];

		if (c < 0x20 || c == 0x7f)
			return true;
	}
	return false;
}

/* Appends len bytes to a growing string; -1 on memory exhaustion. */
struct strbuf {
	char *s;
	size_t len, cap;
};

static int
sb_add(struct strbuf *sb, const char *p, size_t len)
{
	if (sb->len + len + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 64;
		char *n;

		while (cap < sb->len + len + 1)
			cap *= 2;
		n = realloc(sb->s, cap);
		if (n == NULL)
			return -1;
		sb->s = n;
		sb->cap = cap;
	}
	memcpy(sb->s + sb->len, p, len);
	sb->len += len;
	sb->s[sb->len] = '\0';
	return 0;
}

/* One attribute type or value, ASCII-lowercased, with the characters that
 * structure the key escaped so that distinct DNs never share a key. */
static int
key_part(struct strbuf *sb, const struct berval *bv, bool binary)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;
	char esc[3];

	if (binary && sb_add(sb, "#", 1) < 0)
		return -1;
	for (i = 0; i < bv->bv_len; i++) {
		unsigned char c = (unsigned char)bv->bv_val[i];

		if (binary || c < 0x20 || c == 0x7f || c == ',' || c == '+' ||
		    c == '=' || c == '\\' || c == '#') {
			esc[0] = '\\';
			esc[1] = hex[c >> 4];
			esc[2] = hex[c & 15];
			if (sb_add(sb, esc, 3) < 0)
				return -1;
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (sb_add(sb, (const char *)&c, 1) < 0)
			return -1;
	}
	return 0;
}

static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The comparison key of one RDN: its AVAs, sorted so that "a=1+b=2" and
 * "b=2+a=1" agree. */
static int
rdn_key(struct strbuf *sb, LDAPRDN rdn)
{
	struct strbuf one;
	char **avas = NULL;
	size_t n = 0, i;
	int ret = -1;

	while (rdn[n] != NULL)
		n++;
	avas = calloc(n, sizeof(*avas));
	if (avas == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		memset(&one, 0, sizeof(one));
		if (key_part(&one, &rdn[i]->la_attr, false) < 0 ||
		    sb_add(&one, "=", 1) < 0 ||
		    key_part(&one, &rdn[i]->la_value,
			     (rdn[i]->la_flags & LDAP_AVA_BINARY) != 0) < 0) {
			free(one.s);
			goto out;
		}
		avas[i] = one.s;
	}
	qsort(avas, n, sizeof(*avas), compare_strings);
	for (i = 0; i < n; i++) {
		if ((i > 0 && sb_add(sb, "+", 1) < 0) ||
		    sb_add(sb, avas[i], strlen(avas[i])) < 0)
			goto out;
	}
	ret = 0;
out:
	for (i = 0; avas != NULL && i < n; i++)
		free(avas[i]);
	free(avas);
	return ret;
}

/*
 * Parses a DN and gives its display form (libldap's LDAPv3 rendering, the
 * same as ldap_dn_normalize()) and its comparison key: attribute types
 * and values lowercased.  Returns 0, 1 when the DN is not valid, -1 on
 * memory exhaustion.
 *
 * XXX: values are compared ASCII-case-insensitively whatever their
 * attribute's matching rule, and "cn" and "commonName" (or an OID) are
 * different types here; directories in practice write DNs one way.
 */
static int
parse_dn(const char *text, size_t len, char **display, char **key)
{
	LDAPDN ldn = NULL;
	struct strbuf sb = {NULL, 0, 0};
	char *shown = NULL;
	size_t i, j;
	int ret = 1;

	if (len == 0 || strlen(text) != len ||
	    !valid_utf8((const unsigned char *)text, len))
		goto out;
	if (ldap_str2dn(text, &ldn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    ldn == NULL)
		goto out;
	/* libldap renders a control character as it is: a DN with one
	 * could forge lines of output and of messages */
	for (i = 0; ldn[i] != NULL; i++) {
		for (j = 0; ldn[i][j] != NULL; j++) {
			if (has_control_bytes(&ldn[i][j]->la_attr) ||
			    ((ldn[i][j]->la_flags & LDAP_AVA_BINARY) == 0 &&
			     has_control_bytes(&ldn[i][j]->la_value)))
				goto out;
		}
	}
	ret = -1;
	if (ldap_dn2str(ldn, &shown, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		goto out;
	for (i = 0; ldn[i] != NULL; i++) {
		if ((i > 0 && sb_add(&sb, ",", 1) < 0) ||
		    rdn_key(&sb, ldn[i]) < 0)
			goto out;
	}
	*display = strdup(shown);
	if (*display == NULL)
		goto out;
	*key = sb.s;
	sb.s = NULL;
	ret = 0;
out:
	if (ldn != NULL)
		ldap_dnfree(ldn);
	if (shown != NULL)
		ldap_memfree(shown);
	free(sb.s);
	return ret;
}

/* ---- mapping one entry ---- */

static const char *
map_name(const struct oa_dir_builder *b, size_t offset)
{
	return (const char *)&b->map + offset;
}

static size_t
count_values(const struct entry_ctx *ec, const char *attr)
{
	size_t i, n = 0;

	for (i = 0; i < ec->n_attrs; i++) {
		if (strcasecmp(ec->attrs[i].name, attr) == 0)
			n += ec->attrs[i].n_values;
	}
	return n;
}

/* The k-th value of attr across every attribute of that name. */
static void
get_value(const struct entry_ctx *ec, const char *attr, size_t k,
	  const char **value, size_t *len)
{
	size_t i;

	for (i = 0; i < ec->n_attrs; i++) {
		if (strcasecmp(ec->attrs[i].name, attr) != 0)
			continue;
		if (k < ec->attrs[i].n_values) {
			*value = ec->attrs[i].values[k];
			*len = ec->attrs[i].lengths != NULL
				   ? ec->attrs[i].lengths[k]
				   : strlen(*value);
			return;
		}
		k -= ec->attrs[i].n_values;
	}
	*value = NULL;
	*len = 0;
}

static bool
has_class(const struct entry_ctx *ec, const char *cls)
{
	size_t i, n = count_values(ec, "objectClass");
	const char *v;
	size_t len;

	for (i = 0; i < n; i++) {
		get_value(ec, "objectClass", i, &v, &len);
		if (strlen(v) == len && strcasecmp(v, cls) == 0)
			return true;
	}
	return false;
}

/*
 * The one value of a single-valued attribute, checked to be text: no NUL,
 * valid UTF-8, no control character, at most TEXT_MAX bytes.  *out is
 * NULL when the attribute is absent (reported when required).
 */
static void
single_text(struct entry_ctx *ec, const char *attr, bool required,
	    const char **out)
{
	size_t n = count_values(ec, attr), len;
	const char *v;

	*out = NULL;
	if (n == 0) {
		if (required)
			entry_problem(ec, "no %s attribute", attr);
		return;
	}
	if (n > 1) {
		entry_problem(ec, "%s has %zu values, expected one", attr, n);
		return;
	}
	get_value(ec, attr, 0, &v, &len);
	if (strlen(v) != len)
		entry_problem(ec, "%s holds a NUL byte", attr);
	else if (!valid_utf8((const unsigned char *)v, len))
		entry_problem(ec, "%s is not valid UTF-8", attr);
	else if (has_control(v))
		entry_problem(ec, "%s holds a control character", attr);
	else if (len > TEXT_MAX)
		entry_problem(ec, "%s is longer than %d bytes", attr, TEXT_MAX);
	else
		*out = v;
}

static int
set_text(char **dst, const char *v)
{
	*dst = strdup(v != NULL ? v : "");
	return *dst == NULL ? -1 : 0;
}

static void
get_id(struct entry_ctx *ec, const char *attr, uint32_t *out)
{
	const char *v;
	unsigned long long n;
	char *end;

	single_text(ec, attr, true, &v);
	if (v == NULL)
		return;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 ||
	    n > 4294967294ull) {
		entry_problem(ec,
			      "%s '%s' is not a number from 1 to 4294967294",
			      attr, v);
		return;
	}
	if (n == 0) {
		entry_problem(ec, "%s 0 is root's; refused", attr);
		return;
	}
	*out = (uint32_t)n;
}

static void
get_bool(struct entry_ctx *ec, const char *attr, bool *out)
{
	const char *v;

	*out = false;
	single_text(ec, attr, false, &v);
	if (v == NULL)
		return;
	/* LDAP's Boolean syntax (RFC 4517 3.3.3) is exactly these two. */
	if (strcmp(v, "TRUE") == 0)
		*out = true;
	else if (strcmp(v, "FALSE") != 0)
		entry_problem(ec, "%s is '%s', not TRUE or FALSE", attr, v);
}

static void
get_path(struct entry_ctx *ec, const char *attr, bool required,
	 const char **out)
{
	single_text(ec, attr, required, out);
	if (*out != NULL && ((*out)[0] != '/' || strchr(*out, ':') != NULL)) {
		entry_problem(ec, "%s '%s' is not an absolute path without ':'",
			      attr, *out);
		*out = NULL;
	}
}

static int
add_ref(struct entry_ctx *ec, struct raw_entry *e, enum ref_kind kind)
{
	const char *attr = map_name(ec->b, ref_defs[kind].map_offset);
	size_t i, n = count_values(ec, attr), len;
	struct raw_ref *r;
	const char *v;
	int rc;

	if (n == 0)
		return 0;
	r = realloc(e->refs, (e->n_refs + n) * sizeof(*r));
	if (r == NULL)
		return -1;
	e->refs = r;
	for (i = 0; i < n; i++) {
		r = &e->refs[e->n_refs];
		memset(r, 0, sizeof(*r));
		get_value(ec, attr, i, &v, &len);
		rc = parse_dn(v, len, &r->text, &r->key);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			/* a bad DN is printed escaped: it may hold anything */
			entry_problem(ec, "%s value %zu is not a valid DN",
				      attr, i + 1);
			continue;
		}
		r->kind = kind;
		e->n_refs++;
	}
	return 0;
}

static int
map_user(struct entry_ctx *ec, struct raw_entry *e)
{
	const struct oa_conf_mapping *m = &ec->b->map;
	const char *name, *gecos, *home, *shell;

	single_text(ec, m->user_name, true, &name);
	if (name != NULL && !oa_valid_unix_name(name)) {
		entry_problem(ec, "%s '%s' is not a valid Unix user name",
			      m->user_name, name);
		name = NULL;
	}
	get_id(ec, m->uid_number, &e->uid);
	get_id(ec, m->gid_number, &e->gid);
	single_text(ec, m->gecos, false, &gecos);
	if (gecos != NULL && strchr(gecos, ':') != NULL) {
		entry_problem(ec, "%s holds a ':'", m->gecos);
		gecos = NULL;
	}
	get_path(ec, m->home, true, &home);
	get_path(ec, m->shell, false, &shell);
	if (set_text(&e->name, name) < 0 || set_text(&e->gecos, gecos) < 0 ||
	    set_text(&e->home, home) < 0 || set_text(&e->shell, shell) < 0)
		return -1;
	return 0;
}

static int
map_org(struct entry_ctx *ec, struct raw_entry *e)
{
	static const enum oa_org_role roles[] = {OA_ROLE_ADMIN, OA_ROLE_MEMBER,
						 OA_ROLE_WORKFORCE};
	const struct oa_conf_mapping *m = &ec->b->map;
	char group[OA_CONF_NAME_LEN * 2];
	const char *name;
	size_t i;

	single_text(ec, m->org_name, true, &name);
	if (name != NULL && !oa_valid_unix_name(name)) {
		entry_problem(ec,
			      "%s '%s' is not a valid Unix name (it names the "
			      "organisation's groups)",
			      m->org_name, name);
		name = NULL;
	}
	for (i = 0; name != NULL && i < 3; i++) {
		if (oa_group_name(group, sizeof(group), ec->b->role_template,
				  name, oa_role_name(roles[i]), NULL) < 0 ||
		    !oa_valid_unix_name(group)) {
			entry_problem(ec,
				      "organisation '%s' would make an invalid "
				      "group name from role_group_template "
				      "'%s'",
				      name, ec->b->role_template);
			break;
		}
	}
	get_bool(ec, m->org_workforce, &e->workforce);
	get_bool(ec, m->org_mfa_required, &e->mfa_required);
	if (set_text(&e->name, name) < 0 || add_ref(ec, e, REF_ORG_ADMIN) < 0 ||
	    add_ref(ec, e, REF_ORG_MEMBER) < 0)
		return -1;
	return 0;
}

static int
map_entity(struct entry_ctx *ec, struct raw_entry *e)
{
	const struct oa_conf_mapping *m = &ec->b->map;
	const char *name, *owner;
	size_t len;
	int rc;

	single_text(ec, m->entity_name, true, &name);
	if (name != NULL && !oa_valid_unix_name(name)) {
		entry_problem(ec, "%s '%s' is not a valid Unix name",
			      m->entity_name, name);
		name = NULL;
	}
	if (count_values(ec, m->owner) == 0) {
		entry_problem(ec, "no %s: a %s needs an owning organisation",
			      m->owner,
			      e->kind == RAW_PROJECT ? "project" : "dataset");
	} else if (count_values(ec, m->owner) > 1) {
		entry_problem(ec, "%s has %zu values, expected one", m->owner,
			      count_values(ec, m->owner));
	} else {
		get_value(ec, m->owner, 0, &owner, &len);
		rc = parse_dn(owner, len, &e->owner.text, &e->owner.key);
		if (rc < 0)
			return -1;
		if (rc > 0)
			entry_problem(ec, "%s is not a valid DN", m->owner);
	}
	if (set_text(&e->name, name) < 0)
		return -1;
	if (e->kind == RAW_PROJECT) {
		if (add_ref(ec, e, REF_PROJECT_ADMIN) < 0 ||
		    add_ref(ec, e, REF_TEAM_MANAGER) < 0 ||
		    add_ref(ec, e, REF_REVIEWER) < 0 ||
		    add_ref(ec, e, REF_ANNOTATOR) < 0 ||
		    add_ref(ec, e, REF_ANNOTATOR_REVIEWER) < 0)
			return -1;
	} else {
		if (add_ref(ec, e, REF_DATASET_ADMIN) < 0 ||
		    add_ref(ec, e, REF_DATASET_USER) < 0)
			return -1;
	}
	return 0;
}

/* Origin names are shared by many entries: keep one copy of each. */
static const char *
intern_source(struct oa_dir_builder *b, const char *source)
{
	char **n;

	if (source == NULL)
		return NULL;
	if (b->n_sources > 0 &&
	    strcmp(b->sources[b->n_sources - 1], source) == 0)
		return b->sources[b->n_sources - 1];
	n = realloc(b->sources, (b->n_sources + 1) * sizeof(*n));
	if (n == NULL)
		return NULL;
	b->sources = n;
	n[b->n_sources] = strdup(source);
	if (n[b->n_sources] == NULL)
		return NULL;
	return n[b->n_sources++];
}

static void
take_conf(struct oa_dir_builder *b, const struct oa_conf *conf)
{
	if (b->have_conf)
		return;
	b->map = conf->map;
	snprintf(b->role_template, sizeof(b->role_template), "%s",
		 conf->role_group_template);
	snprintf(b->project_template, sizeof(b->project_template), "%s",
		 conf->project_group_template);
	snprintf(b->dataset_template, sizeof(b->dataset_template), "%s",
		 conf->dataset_group_template);
	b->have_conf = true;
}

int
oa_dir_add_entry(struct oa_directory *dir, const struct oa_conf *conf,
		 const struct oa_origin *origin, const char *dn,
		 const struct oa_attr *attrs, size_t n_attrs,
		 oa_dir_report_fn *report, void *ctx)
{
	struct oa_dir_builder *b = dir->builder;
	struct entry_ctx ec = {b,	origin, dn,  attrs,
			       n_attrs, report, ctx, false};
	const struct oa_conf_mapping *m = &conf->map;
	struct raw_entry *e = NULL;
	int classes = 0, rc, ret = -1;
	enum raw_kind kind = RAW_USER;

	if (b == NULL)
		return -1; /* already resolved */
	take_conf(b, conf);
	if (has_class(&ec, m->user_class)) {
		kind = RAW_USER;
		classes++;
	}
	if (has_class(&ec, m->org_class)) {
		kind = RAW_ORG;
		classes++;
	}
	if (has_class(&ec, m->project_class)) {
		kind = RAW_PROJECT;
		classes++;
	}
	if (has_class(&ec, m->dataset_class)) {
		kind = RAW_DATASET;
		classes++;
	}
	if (classes == 0)
		return 0;

	if (b->n_entries == b->cap_entries) {
		size_t cap = b->cap_entries ? b->cap_entries * 2 : 64;
		struct raw_entry *n;

		n = realloc(b->entries, cap * sizeof(*n));
		if (n == NULL)
			goto out;
		b->entries = n;
		b->cap_entries = cap;
	}
	e = &b->entries[b->n_entries];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->seq = b->n_entries;
	e->origin.line = origin != NULL ? origin->line : 0;
	e->origin.source =
	    intern_source(b, origin != NULL ? origin->source : NULL);
	if (origin != NULL && origin->source != NULL &&
	    e->origin.source == NULL)
		goto out;

	rc = dn != NULL ? parse_dn(dn, strlen(dn), &e->dn, &e->key) : 1;
	if (rc < 0)
		goto out;
	if (rc > 0) {
		ec.dn = NULL;
		entry_problem(&ec, "entry DN is not a valid DN");
		free_raw(e);
		ret = 0;
		goto out;
	}
	ec.dn = e->dn;
	if (classes > 1)
		entry_problem(&ec,
			      "entry has more than one of the object classes "
			      "%s, %s, %s, %s",
			      m->user_class, m->org_class, m->project_class,
			      m->dataset_class);
	else if (kind == RAW_USER)
		rc = map_user(&ec, e);
	else if (kind == RAW_ORG)
		rc = map_org(&ec, e);
	else
		rc = map_entity(&ec, e);
	if (rc < 0) {
		free_raw(e);
		goto out;
	}
	e->rejected = ec.bad;
	b->n_entries++;
	ret = 0;
out:
	return ret;
}

/* ---- resolution and validation ---- */

struct resolver {
	struct oa_dir_builder *b;
	oa_dir_report_fn *report;
	void *ctx;
	size_t *by_key; /* entry indexes sorted by key, duplicates dropped */
	size_t n_keys;
};

static void problem(struct resolver *r, const struct raw_entry *e,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
problem(struct resolver *r, const struct raw_entry *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(r->b, r->report, r->ctx, &e->origin, e->dn, fmt, ap);
	va_end(ap);
}

static int
cmp_key(const void *a, const void *b, void *ctx)
{
	const struct raw_entry *entries = ctx;
	const struct raw_entry *x = &entries[*(const size_t *)a];
	const struct raw_entry *y = &entries[*(const size_t *)b];
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* By kind, name, then input order: the order every report follows. */
static int
cmp_name(const void *a, const void *b, void *ctx)
{
	const struct raw_entry *entries = ctx;
	const struct raw_entry *x = &entries[*(const size_t *)a];
	const struct raw_entry *y = &entries[*(const size_t *)b];
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	c = strcmp(x->name != NULL ? x->name : "",
		   y->name != NULL ? y->name : "");
	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
cmp_uid(const void *a, const void *b, void *ctx)
{
	const struct raw_entry *entries = ctx;
	const struct raw_entry *x = &entries[*(const size_t *)a];
	const struct raw_entry *y = &entries[*(const size_t *)b];

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return cmp_name(a, b, ctx);
}

/* Entities: by kind, name, owner name, input order. */
static int
cmp_entity(const void *a, const void *b, void *ctx)
{
	const struct raw_entry *entries = ctx;
	const struct raw_entry *x = &entries[*(const size_t *)a];
	const struct raw_entry *y = &entries[*(const size_t *)b];
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	c = strcmp(x->name, y->name);
	if (c != 0)
		return c;
	c = strcmp(entries[x->owner.target].name,
		   entries[y->owner.target].name);
	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static long
lookup(const struct resolver *r, const char *key)
{
	size_t lo = 0, hi = r->n_keys;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, r->b->entries[r->by_key[mid]].key);

		if (c == 0)
			return (long)r->by_key[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static const char *
kind_word(enum raw_kind kind)
{
	static const char *const words[] = {"a user", "an organisation",
					    "a project", "a dataset"};
	return words[kind];
}

/* Where e is, said from entry from: "line 12" in the same file. */
static const char *
where(const struct raw_entry *e, const struct raw_entry *from, char *buf,
      size_t size)
{
	if (e->origin.source != NULL && e->origin.line > 0 &&
	    e->origin.source == from->origin.source)
		snprintf(buf, size, "line %u", e->origin.line);
	else if (e->origin.source != NULL && e->origin.line > 0)
		snprintf(buf, size, "%s:%u", e->origin.source, e->origin.line);
	else if (e->origin.source != NULL)
		snprintf(buf, size, "%s", e->origin.source);
	else
		snprintf(buf, size, "entry %zu", e->seq + 1);
	return buf;
}

/* All entries of one kind that are still accepted, sorted by cmp. */
static int
select_kind(struct resolver *r, bool (*want)(const struct raw_entry *),
	    int (*cmp)(const void *, const void *, void *), size_t **out,
	    size_t *n)
{
	size_t i, k = 0;
	size_t *idx;

	idx = malloc((r->b->n_entries + 1) * sizeof(*idx));
	if (idx == NULL)
		return -1;
	for (i = 0; i < r->b->n_entries; i++) {
		if (!r->b->entries[i].rejected && want(&r->b->entries[i]))
			idx[k++] = i;
	}
	qsort_r(idx, k, sizeof(*idx), cmp, r->b->entries);
	*out = idx;
	*n = k;
	return 0;
}

static bool
is_user(const struct raw_entry *e)
{
	return e->kind == RAW_USER;
}

static bool
is_org(const struct raw_entry *e)
{
	return e->kind == RAW_ORG;
}

static bool
is_entity(const struct raw_entry *e)
{
	return e->kind == RAW_PROJECT || e->kind == RAW_DATASET;
}

/* Every DN once; a second entry with a DN already seen is refused. */
static int
index_keys(struct resolver *r)
{
	struct oa_dir_builder *b = r->b;
	size_t i, k = 0;
	char at[OA_CONF_PATH_LEN + 16];

	r->by_key = malloc((b->n_entries + 1) * sizeof(*r->by_key));
	if (r->by_key == NULL)
		return -1;
	for (i = 0; i < b->n_entries; i++)
		r->by_key[i] = i;
	qsort_r(r->by_key, b->n_entries, sizeof(*r->by_key), cmp_key,
		b->entries);
	for (i = 0; i < b->n_entries; i++) {
		struct raw_entry *e = &b->entries[r->by_key[i]];

		if (k > 0 &&
		    strcmp(b->entries[r->by_key[k - 1]].key, e->key) == 0) {
			problem(r, e, "duplicate entry: the same DN is at %s",
				where(&b->entries[r->by_key[k - 1]], e, at,
				      sizeof(at)));
			e->rejected = true;
			continue;
		}
		r->by_key[k++] = r->by_key[i];
	}
	r->n_keys = k;
	return 0;
}

/* Among idx (sorted so that equal items are adjacent, first kept), refuse
 * the later duplicates. */
static void
refuse_duplicates(struct resolver *r, size_t *idx, size_t n,
		  bool (*same)(const struct raw_entry *,
			       const struct raw_entry *),
		  const char *what)
{
	struct raw_entry *e, *first = NULL;
	char at[OA_CONF_PATH_LEN + 16];
	size_t i;

	for (i = 0; i < n; i++) {
		e = &r->b->entries[idx[i]];
		if (first != NULL && same(first, e)) {
			problem(r, e, "duplicate %s: also used by %s (%s)",
				what, first->dn,
				where(first, e, at, sizeof(at)));
			e->rejected = true;
			continue;
		}
		first = e;
	}
}

static bool
same_name(const struct raw_entry *a, const struct raw_entry *b)
{
	return a->kind == b->kind && strcmp(a->name, b->name) == 0;
}

static bool
same_uid(const struct raw_entry *a, const struct raw_entry *b)
{
	return a->uid == b->uid;
}

static bool
same_entity(const struct raw_entry *a, const struct raw_entry *b)
{
	return a->kind == b->kind && a->owner.target == b->owner.target &&
	       strcmp(a->name, b->name) == 0;
}

/*
 * Resolves one member reference to a user.  Returns true when it names an
 * accepted user; a reference to a refused user is dropped quietly, its
 * problem already told.
 */
static bool
resolve_user_ref(struct resolver *r, struct raw_entry *from,
		 struct raw_ref *ref)
{
	const char *attr = map_name(r->b, ref_defs[ref->kind].map_offset);
	long t = lookup(r, ref->key);

	if (t < 0) {
		problem(r, from, "%s %s: no such entry", attr, ref->text);
		return false;
	}
	if (r->b->entries[t].kind != RAW_USER) {
		problem(r, from, "%s %s is %s, not a user", attr, ref->text,
			kind_word(r->b->entries[t].kind));
		return false;
	}
	if (r->b->entries[t].rejected)
		return false;
	ref->target = (size_t)t;
	return true;
}

/* Gives each user their home organisation from the organisations' admin
 * and member lists. */
static void
assign_homes(struct resolver *r, size_t *orgs, size_t n_orgs)
{
	struct oa_dir_builder *b = r->b;
	size_t i, j;

	/* users of an organisation refused for a problem of its own lose
	 * their home with it; that is not a second problem of theirs */
	for (i = 0; i < b->n_entries; i++) {
		struct raw_entry *o = &b->entries[i];
		long t;

		if (o->kind != RAW_ORG || !o->rejected)
			continue;
		for (j = 0; j < o->n_refs; j++) {
			t = lookup(r, o->refs[j].key);
			if (t >= 0 && b->entries[t].kind == RAW_USER)
				b->entries[t].home_refused = true;
		}
	}
	for (i = 0; i < n_orgs; i++) {
		struct raw_entry *o = &b->entries[orgs[i]];

		for (j = 0; j < o->n_refs; j++) {
			struct raw_ref *ref = &o->refs[j];
			struct raw_entry *u;
			enum oa_org_role role = ref->kind == REF_ORG_ADMIN
						    ? OA_ROLE_ADMIN
						    : OA_ROLE_MEMBER;

			if (!resolve_user_ref(r, o, ref)) {
				ref->target = (size_t)-1;
				continue;
			}
			u = &b->entries[ref->target];
			if (u->n_homes > 0 && u->last_org == orgs[i]) {
				/* listed twice in one organisation: the
				 * admin listing says more */
				if (u->home_org == orgs[i] &&
				    role == OA_ROLE_ADMIN)
					u->home_role = OA_ROLE_ADMIN;
				continue;
			}
			if (u->n_homes == 0) {
				u->home_org = orgs[i];
				u->home_role = role;
			}
			u->last_org = orgs[i];
			u->n_homes++;
		}
	}
}

static void
check_homes(struct resolver *r, size_t *users, size_t n_users)
{
	struct oa_dir_builder *b = r->b;
	size_t i;

	for (i = 0; i < n_users; i++) {
		struct raw_entry *u = &b->entries[users[i]];

		if (u->n_homes == 0 && u->home_refused) {
			u->rejected = true;
		} else if (u->n_homes == 0) {
			problem(r, u,
				"user '%s' has no home organisation: no "
				"organisation lists it as %s or %s",
				u->name, b->map.org_admin, b->map.org_member);
			u->rejected = true;
		} else if (u->n_homes > 1) {
			problem(r, u,
				"user '%s' is listed by %zu organisations "
				"(first %s); a user has one home "
				"organisation",
				u->name, u->n_homes,
				b->entries[u->home_org].name);
			u->rejected = true;
		}
	}
}

static void
resolve_entities(struct resolver *r, size_t *ents, size_t n_ents)
{
	struct oa_dir_builder *b = r->b;
	char group[OA_CONF_NAME_LEN * 2];
	size_t i;

	for (i = 0; i < n_ents; i++) {
		struct raw_entry *e = &b->entries[ents[i]];
		const char *tmpl = e->kind == RAW_PROJECT ? b->project_template
							  : b->dataset_template;
		long t = lookup(r, e->owner.key);

		if (t < 0) {
			problem(r, e, "%s %s: no such entry", b->map.owner,
				e->owner.text);
			e->rejected = true;
		} else if (b->entries[t].kind != RAW_ORG) {
			problem(r, e, "%s %s is %s, not an organisation",
				b->map.owner, e->owner.text,
				kind_word(b->entries[t].kind));
			e->rejected = true;
		} else if (b->entries[t].rejected) {
			e->rejected = true; /* told already */
		} else if (oa_group_name(group, sizeof(group), tmpl,
					 b->entries[t].name, NULL,
					 e->name) < 0 ||
			   !oa_valid_unix_name(group)) {
			problem(r, e,
				"%s '%s' of '%s' would make an invalid group "
				"name from template '%s'",
				e->kind == RAW_PROJECT ? "project" : "dataset",
				e->name, b->entries[t].name, tmpl);
			e->rejected = true;
		} else {
			e->owner.target = (size_t)t;
		}
	}
}

static void
resolve_entity_members(struct resolver *r, size_t *ents, size_t n_ents)
{
	size_t i, j;

	for (i = 0; i < n_ents; i++) {
		struct raw_entry *e = &r->b->entries[ents[i]];

		if (e->rejected)
			continue;
		for (j = 0; j < e->n_refs; j++) {
			if (!resolve_user_ref(r, e, &e->refs[j]))
				e->refs[j].target = (size_t)-1;
		}
	}
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* The final user indexes of an org's admin (or member) references,
 * sorted, without duplicates or refused users. */
static int
final_users(struct resolver *r, const struct raw_entry *o, enum ref_kind kind,
	    size_t **out, size_t *n_out)
{
	size_t i, n = 0, *idx;

	idx = malloc((o->n_refs + 1) * sizeof(*idx));
	if (idx == NULL)
		return -1;
	for (i = 0; i < o->n_refs; i++) {
		const struct raw_ref *ref = &o->refs[i];
		const struct raw_entry *u;

		if (ref->target == (size_t)-1)
			continue;
		u = &r->b->entries[ref->target];
		if (u->rejected ||
		    u->home_role != (kind == REF_ORG_ADMIN ? OA_ROLE_ADMIN
							   : OA_ROLE_MEMBER))
			continue;
		idx[n++] = u->final;
	}
	qsort(idx, n, sizeof(*idx), cmp_size);
	*n_out = 0;
	for (i = 0; i < n; i++) {
		if (*n_out == 0 || idx[*n_out - 1] != idx[i])
			idx[(*n_out)++] = idx[i];
	}
	*out = idx;
	return 0;
}

static int
cmp_membership(const void *a, const void *b)
{
	const struct oa_membership *x = a, *y = b;

	if (x->user != y->user)
		return x->user < y->user ? -1 : 1;
	return strcmp(x->role, y->role);
}

static int
build_entity(struct resolver *r, struct raw_entry *e, struct oa_entity *out)
{
	struct oa_membership *m;
	size_t i, n = 0, k = 0;

	m = malloc((e->n_refs + 1) * sizeof(*m));
	if (m == NULL)
		return -1;
	for (i = 0; i < e->n_refs; i++) {
		const struct raw_ref *ref = &e->refs[i];

		if (ref->target == (size_t)-1 ||
		    r->b->entries[ref->target].rejected)
			continue;
		m[n].user = r->b->entries[ref->target].final;
		m[n].role = ref_defs[ref->kind].role;
		n++;
	}
	qsort(m, n, sizeof(*m), cmp_membership);
	for (i = 0; i < n; i++) {
		if (k == 0 || cmp_membership(&m[k - 1], &m[i]) != 0)
			m[k++] = m[i];
	}
	out->kind =
	    e->kind == RAW_PROJECT ? OA_ENTITY_PROJECT : OA_ENTITY_DATASET;
	out->dn = e->dn;
	out->name = e->name;
	out->owner = r->b->entries[e->owner.target].final;
	out->members = m;
	out->n_members = k;
	e->dn = NULL;
	e->name = NULL;
	return 0;
}

/* Moves the accepted entries into dir's arrays, in name order. */
static int
build(struct resolver *r, struct oa_directory *dir, size_t *orgs, size_t n_orgs,
      size_t *users, size_t n_users, size_t *ents, size_t n_ents)
{
	struct oa_dir_builder *b = r->b;
	size_t i, k;

	dir->orgs = calloc(n_orgs + 1, sizeof(*dir->orgs));
	dir->users = calloc(n_users + 1, sizeof(*dir->users));
	dir->entities = calloc(n_ents + 1, sizeof(*dir->entities));
	if (dir->orgs == NULL || dir->users == NULL || dir->entities == NULL)
		return -1;
	for (i = 0, k = 0; i < n_orgs; i++) {
		if (!b->entries[orgs[i]].rejected)
			b->entries[orgs[i]].final = k++;
	}
	for (i = 0, k = 0; i < n_users; i++) {
		if (!b->entries[users[i]].rejected)
			b->entries[users[i]].final = k++;
	}

	for (i = 0; i < n_users; i++) {
		struct raw_entry *e = &b->entries[users[i]];
		struct oa_user *u = &dir->users[dir->n_users];

		if (e->rejected)
			continue;
		u->dn = e->dn;
		u->name = e->name;
		u->uid = e->uid;
		u->gid = e->gid;
		u->gecos = e->gecos;
		u->home = e->home;
		u->shell = e->shell;
		u->home_org = b->entries[e->home_org].final;
		u->home_role = e->home_role;
		e->dn = e->name = e->gecos = e->home = e->shell = NULL;
		dir->n_users++;
	}
	for (i = 0; i < n_orgs; i++) {
		struct raw_entry *e = &b->entries[orgs[i]];
		struct oa_org *o = &dir->orgs[dir->n_orgs];

		if (e->rejected)
			continue;
		if (final_users(r, e, REF_ORG_ADMIN, &o->admins, &o->n_admins) <
			0 ||
		    final_users(r, e, REF_ORG_MEMBER, &o->members,
				&o->n_members) < 0)
			return -1;
		o->dn = e->dn;
		o->name = e->name;
		o->workforce = e->workforce;
		o->mfa_required = e->mfa_required;
		e->dn = e->name = NULL;
		dir->n_orgs++;
	}
	for (i = 0; i < n_ents; i++) {
		struct raw_entry *e = &b->entries[ents[i]];

		if (e->rejected)
			continue;
		if (build_entity(r, e, &dir->entities[dir->n_entities]) < 0)
			return -1;
		dir->n_entities++;
	}
	return 0;
}

int
oa_dir_resolve(struct oa_directory *dir, oa_dir_report_fn *report, void *ctx)
{
	struct resolver r = {dir->builder, report, ctx, NULL, 0};
	size_t *orgs = NULL, *users = NULL, *ents = NULL;
	size_t n_orgs, n_users, n_ents, i;
	int ret = -1;

	if (r.b == NULL)
		return -1; /* resolved already */
	if (index_keys(&r) < 0)
		goto out;

	/* names and ids first: a refused duplicate must not gain members */
	if (select_kind(&r, is_org, cmp_name, &orgs, &n_orgs) < 0)
		goto out;
	refuse_duplicates(&r, orgs, n_orgs, same_name, "organisation name");
	if (select_kind(&r, is_user, cmp_name, &users, &n_users) < 0)
		goto out;
	refuse_duplicates(&r, users, n_users, same_name, "user name");
	free(users);
	if (select_kind(&r, is_user, cmp_uid, &users, &n_users) < 0)
		goto out;
	refuse_duplicates(&r, users, n_users, same_uid, "uid number");
	free(users);
	free(orgs);

	if (select_kind(&r, is_org, cmp_name, &orgs, &n_orgs) < 0 ||
	    select_kind(&r, is_user, cmp_name, &users, &n_users) < 0)
		goto out;
	assign_homes(&r, orgs, n_orgs);
	check_homes(&r, users, n_users);
	for (i = 0; i < n_orgs; i++) {
		struct raw_entry *o = &r.b->entries[orgs[i]];
		size_t j, admins = 0;

		for (j = 0; j < o->n_refs; j++) {
			const struct raw_ref *ref = &o->refs[j];

			if (ref->kind == REF_ORG_ADMIN &&
			    ref->target != (size_t)-1 &&
			    !r.b->entries[ref->target].rejected)
				admins++;
		}
		if (admins == 0)
			problem(&r, o, "organisation '%s' has no admin",
				o->name);
	}

	if (select_kind(&r, is_entity, cmp_name, &ents, &n_ents) < 0)
		goto out;
	resolve_entities(&r, ents, n_ents);
	free(ents);
	if (select_kind(&r, is_entity, cmp_entity, &ents, &n_ents) < 0)
		goto out;
	refuse_duplicates(&r, ents, n_ents, same_entity, "name for one owner");
	resolve_entity_members(&r, ents, n_ents);

	if (build(&r, dir, orgs, n_orgs, users, n_users, ents, n_ents) < 0)
		goto out;
	ret = r.b->problems;
	free_builder(dir->builder);
	dir->builder = NULL;
out:
	free(r.by_key);
	free(orgs);
	free(users);
	free(ents);
	return ret;
}

long
oa_dir_find_user(const struct oa_directory *dir, const char *name)
{
	size_t lo = 0, hi = dir->n_users;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, dir->users[mid].name);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

long
oa_dir_find_org(const struct oa_directory *dir, const char *name)
{
	size_t lo = 0, hi = dir->n_orgs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, dir->orgs[mid].name);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

int
oa_dir_load(struct oa_directory *dir, const struct oa_conf *conf,
	    oa_dir_report_fn *report, void *ctx)
{
	int rc;

	if (conf->directory_source == OA_DIR_LDAP)
		rc = oa_dir_load_ldap(dir, conf, report, ctx);
	else
		rc = oa_dir_load_ldif(dir, conf, conf->directory_ldif, report,
				      ctx);
	if (rc < 0)
		return -1;
	return oa_dir_resolve(dir, report, ctx);
}
