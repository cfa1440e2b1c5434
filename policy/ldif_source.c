/*
 * The LDIF directory source: libldap's own LDIF reader (ldif_read_record
 * and ldap_parse_ldif_record) turns the file into records, each handed to
 * oa_dir_add_entry() like an entry from a server.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <lber.h>
#include <ldap.h>
#include <ldif.h>

#include "directory.h"

/* libldap tells what is wrong with a base64 value through liblber's log
 * hook; keep the last message as the reason instead of letting it reach
 * stderr. */
static char ldif_last_message[256];

static void
ldif_log_sink(const char *msg)
{
	size_t len;

	snprintf(ldif_last_message, sizeof(ldif_last_message), "%s", msg);
	len = strlen(ldif_last_message);
	while (len > 0 && (ldif_last_message[len - 1] == '\n' ||
			   ldif_last_message[len - 1] == '\r'))
		ldif_last_message[--len] = '\0';
}

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

/* Parses one record read by ldif_read_record(); buf is consumed. */
static int
parse_record(struct oa_directory *dir, const struct oa_conf *conf,
	     const struct oa_origin *origin, char *buf,
	     oa_dir_report_fn *report, void *ctx)
{
	struct berval bv;
	LDIFRecord lr;
	int rc, ret;

	if (has_url_value(buf)) {
		oa_dir_report(dir, report, ctx, origin, NULL,
			      "values read from a URL (\"attribute:<\") are "
			      "not accepted");
		return 0;
	}
	if (only_version(buf))
		return 0;
	memset(&lr, 0, sizeof(lr));
	bv.bv_val = buf;
	bv.bv_len = strlen(buf);
	ldif_last_message[0] = '\0';
	rc = ldap_parse_ldif_record(&bv, origin->line, &lr, "orgauth",
				    LDIF_DEFAULT_ADD | LDIF_NO_CONTROLS);
	if (rc != LDAP_SUCCESS) {
		oa_dir_report(dir, report, ctx, origin, NULL,
			      "invalid LDIF record%s%s",
			      ldif_last_message[0] != '\0' ? ": " : "",
			      ldif_last_message);
		return 0;
	}
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
	BER_LOG_PRINT_FN old_print = NULL;
	int old_debug = 0, quiet = 0, rc, ret = -1;
	unsigned long lineno = 0, before;
	char *buf = NULL;
	int buflen = 0;
	LDIFFP *fp = NULL;
	struct stat st;
	bool hooked = false;

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
	/* libldap prints LDIF syntax errors on stderr at its default debug
	 * level; we report them ourselves, with the file and line. */
	if (ber_get_option(NULL, LBER_OPT_LOG_PRINT_FN, &old_print) ==
		LBER_OPT_SUCCESS &&
	    ldap_get_option(NULL, LDAP_OPT_DEBUG_LEVEL, &old_debug) ==
		LDAP_OPT_SUCCESS) {
		ber_set_option(NULL, LBER_OPT_LOG_PRINT_FN,
			       (void *)ldif_log_sink);
		ldap_set_option(NULL, LDAP_OPT_DEBUG_LEVEL, &quiet);
		hooked = true;
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
	if (hooked) {
		ber_set_option(NULL, LBER_OPT_LOG_PRINT_FN, (void *)old_print);
		ldap_set_option(NULL, LDAP_OPT_DEBUG_LEVEL, &old_debug);
	}
	ldif_close(fp);
	ber_memfree(buf);
	return ret;
}
