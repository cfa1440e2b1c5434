/*
 * The LDIF directory source: libldap's own LDIF reader (ldif_read_record
 * and ldap_parse_ldif_record) turns the file into records, each handed to
 * oa_dir_add_entry() like an entry from a server.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lber.h>
#include <ldap.h>
#include <ldif.h>

#include "directory.h"

/* The lines a record buffer spans, counting folded ones. */
static unsigned
count_lines(const char *buf)
{
	unsigned n = 0;

	for (; *buf != '\0'; buf++) {
		if (*buf == '\n')
			n++;
	}
	return n;
}

/*
 * True when the record holds a value read from a URL ("attr:< file://"):
 * libldap would fetch it, and a directory must not pull files of this host
 * into user-visible attributes.  Lines are unfolded first.
 */
static bool
has_url_value(const char *buf)
{
	bool line_start = true, in_name = false;
	const char *p;

	for (p = buf; *p != '\0'; p++) {
		if (line_start) {
			line_start = false;
			if (*p == ' ')
				continue; /* a folded line goes on */
			in_name = *p != '#';
		}
		if (*p == '\n') {
			/* the next line continues this one if it is folded */
			if (p[1] != ' ')
				in_name = false;
			line_start = true;
			continue;
		}
		if (in_name && *p == ':') {
			const char *q = p + 1;

			/* the '<' may itself sit on a folded line */
			while (q[0] == '\n' && q[1] == ' ')
				q += 2;
			if (*q == '<')
				return true;
			in_name = false;
		}
	}
	return false;
}

static bool
only_version(const char *buf)
{
	const char *p = buf;

	if (strncasecmp(p, "version:", 8) != 0)
		return false;
	p = strchr(p, '\n');
	return p == NULL || p[1] == '\0';
}

/* Hands one parsed record to the model. */
static int
add_record(struct oa_directory *dir, const struct oa_conf *conf,
	   const struct oa_origin *origin, LDIFRecord *lr,
	   oa_dir_report_fn *report, void *ctx)
{
	struct oa_attr *attrs = NULL;
	const char **values = NULL;
	size_t *lengths = NULL;
	size_t n_attrs = 0, n_values = 0, i, j, v = 0;
	LDAPMod **mods = lr->lrop_mods;
	char *dn = NULL;
	int ret = -1;

	for (i = 0; mods != NULL && mods[i] != NULL; i++) {
		n_attrs++;
		for (j = 0; mods[i]->mod_bvalues != NULL &&
			    mods[i]->mod_bvalues[j] != NULL;
		     j++)
			n_values++;
	}
	attrs = calloc(n_attrs + 1, sizeof(*attrs));
	values = calloc(n_values + 1, sizeof(*values));
	lengths = calloc(n_values + 1, sizeof(*lengths));
	if (attrs == NULL || values == NULL || lengths == NULL)
		goto out;
	for (i = 0; i < n_attrs; i++) {
		attrs[i].name = mods[i]->mod_type;
		attrs[i].values = &values[v];
		attrs[i].lengths = &lengths[v];
		for (j = 0; mods[i]->mod_bvalues != NULL &&
			    mods[i]->mod_bvalues[j] != NULL;
		     j++) {
			struct berval *bv = mods[i]->mod_bvalues[j];
			char *copy = malloc(bv->bv_len + 1);

			/* values are copied to be sure of the final NUL */
			if (copy == NULL)
				goto out;
			memcpy(copy, bv->bv_val, bv->bv_len);
			copy[bv->bv_len] = '\0';
			values[v] = copy;
			lengths[v] = bv->bv_len;
			v++;
			attrs[i].n_values++;
		}
	}
	dn = malloc(lr->lr_dn.bv_len + 1);
	if (dn == NULL)
		goto out;
	memcpy(dn, lr->lr_dn.bv_val, lr->lr_dn.bv_len);
	dn[lr->lr_dn.bv_len] = '\0';
	if (strlen(dn) != lr->lr_dn.bv_len) {
		oa_dir_report(dir, report, ctx, origin, NULL,
			      "the DN holds a NUL byte");
		ret = 0;
		goto out;
	}
	ret = oa_dir_add_entry(dir, conf, origin, dn, attrs, n_attrs, report,
			       ctx);
out:
	for (i = 0; values != NULL && i < v; i++)
		free((char *)values[i]);
	free(values);
	free(lengths);
	free(attrs);
	free(dn);
	return ret;
}

static bool
is_base64(const char *p, const char *end)
{
	size_t n = 0, pad = 0;

	for (; p < end; p++) {
		if (*p == ' ')
			continue;
		if (*p == '=') {
			pad++;
		} else if (pad > 0 || !((*p >= 'A' && *p <= 'Z') ||
					(*p >= 'a' && *p <= 'z') ||
					(*p >= '0' && *p <= '9') || *p == '+' ||
					*p == '/')) {
			return false;
		}
		n++;
	}
	return n % 4 == 0 && pad <= 2;
}

/*
 * Says why libldap refused a record, and on which line: the first line
 * that is not "attribute: value", "attribute:: base64" or a comment.
 * buf is the record as read (folded); first is its first line's number.
 */
static void
diagnose(const char *buf, unsigned first, unsigned *line, char *why,
	 size_t size)
{
	const char *p = buf, *eol, *colon;
	unsigned n = first;

	*line = first;
	snprintf(why, size, "invalid LDIF record");
	while (*p != '\0') {
		const char *start = p;
		unsigned at = n;
		char logical[4096];
		size_t len = 0;

		/* one logical line: the physical one and its folded ones */
		for (;;) {
			eol = strchr(p, '\n');
			if (eol == NULL)
				eol = p + strlen(p);
			while (p < eol && len + 1 < sizeof(logical)) {
				if (*p != '\r')
					logical[len++] = *p;
				p++;
			}
			p = *eol == '\n' ? eol + 1 : eol;
			n++;
			if (*p != ' ')
				break;
			p++;
		}
		logical[len] = '\0';
		if (logical[0] == '#' || start == p)
			continue;
		colon = strchr(logical, ':');
		if (colon == NULL || colon == logical) {
			*line = at;
			snprintf(why, size,
				 "invalid LDIF line: expected \"attribute: "
				 "value\"");
			return;
		}
		if (colon[1] == ':' && !is_base64(colon + 2, logical + len)) {
			*line = at;
			snprintf(why, size, "invalid base64 value of %.*s",
				 (int)(colon - logical), logical);
			return;
		}
	}
}

/*
 * libldap's record parser prints its complaints on stderr itself (a bare
 * fprintf, no hook to catch it); we report each problem ourselves with
 * the file and line, so its copy goes to /dev/null meanwhile.
 *
 * XXX: for the length of that call fd 2 is /dev/null for the whole
 * process: fine for orgauthctl, which has one thread, but a sanitizer
 * report raised inside libldap's parser would be lost too.
 */
static int
quiet_stderr(void)
{
	int saved, null;

	fflush(stderr);
	saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (saved < 0)
		return -1;
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null < 0 || dup2(null, STDERR_FILENO) < 0) {
		if (null >= 0)
			close(null);
		close(saved);
		return -1;
	}
	close(null);
	return saved;
}

static void
restore_stderr(int saved)
{
	if (saved < 0)
		return;
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
}

/* Parses one record read by ldif_read_record(); buf is consumed. */
static int
parse_record(struct oa_directory *dir, const struct oa_conf *conf,
	     const struct oa_origin *origin, char *buf,
	     oa_dir_report_fn *report, void *ctx)
{
	struct berval bv;
	LDIFRecord lr;
	char *copy;
	int rc, ret, saved;

	if (has_url_value(buf)) {
		oa_dir_report(dir, report, ctx, origin, NULL,
			      "values read from a URL (\"attribute:<\") are "
			      "not accepted");
		return 0;
	}
	if (only_version(buf))
		return 0;
	copy = strdup(buf);
	if (copy == NULL)
		return -1;
	memset(&lr, 0, sizeof(lr));
	bv.bv_val = buf;
	bv.bv_len = strlen(buf);
	saved = quiet_stderr();
	rc = ldap_parse_ldif_record(&bv, origin->line, &lr, "orgauth",
				    LDIF_DEFAULT_ADD | LDIF_NO_CONTROLS);
	restore_stderr(saved);
	if (rc != LDAP_SUCCESS) {
		struct oa_origin at = *origin;
		char why[256];

		diagnose(copy, origin->line, &at.line, why, sizeof(why));
		oa_dir_report(dir, report, ctx, &at, NULL, "%s", why);
		free(copy);
		return 0;
	}
	free(copy);
	if (lr.lr_dn.bv_val == NULL || lr.lr_dn.bv_len == 0) {
		/* the root DSE is no entry of ours either */
		oa_dir_report(dir, report, ctx, origin, NULL,
			      "record without a DN");
		ret = 0;
	} else if (lr.lr_op != LDAP_REQ_ADD) {
		oa_dir_report(dir, report, ctx, origin, NULL,
			      "change records are not accepted, only entries");
		ret = 0;
	} else {
		ret = add_record(dir, conf, origin, &lr, report, ctx);
	}
	ldap_ldif_record_done(&lr);
	return ret;
}

int
oa_dir_load_ldif(struct oa_directory *dir, const struct oa_conf *conf,
		 const char *path, oa_dir_report_fn *report, void *ctx)
{
	struct oa_origin origin = {path, 0};
	int rc, ret = -1;
	unsigned long lineno = 0, before;
	char *buf = NULL;
	int buflen = 0;
	LDIFFP *fp = NULL;
	struct stat st;

	if (stat(path, &st) < 0) {
		oa_dir_report(dir, report, ctx, &origin, NULL,
			      "cannot read: %s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		oa_dir_report(dir, report, ctx, &origin, NULL,
			      "not a regular file");
		return -1;
	}
	fp = ldif_open(path, "r");
	if (fp == NULL) {
		oa_dir_report(dir, report, ctx, &origin, NULL,
			      "cannot open: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		unsigned n;

		before = lineno;
		rc = ldif_read_record(fp, &lineno, &buf, &buflen);
		if (rc <= 0)
			break;
		if (fp->prev != NULL) {
			/* "include:" opened another file: its lines would be
			 * reported against this one, and the directory
			 * must be one file that can be checked alone */
			origin.line = (unsigned)before + 1;
			oa_dir_report(dir, report, ctx, &origin, NULL,
				      "\"include:\" is not supported");
			goto done;
		}
		/* lineno is the record's last line, or the blank line
		 * after it; the record starts n lines higher. */
		n = count_lines(buf);
		origin.line = (unsigned)(lineno - n + (feof(fp->fp) ? 1 : 0));
		if (n == 0 || origin.line <= before)
			origin.line = (unsigned)before + 1;
		if (parse_record(dir, conf, &origin, buf, report, ctx) < 0)
			goto out;
	}
	if (rc < 0 || ferror(fp->fp)) {
		origin.line = 0;
		oa_dir_report(dir, report, ctx, &origin, NULL,
			      "read error after line %lu", lineno);
		goto out;
	}
done:
	ret = 0;
out:
	ldif_close(fp);
	ber_memfree(buf);
	return ret;
}
