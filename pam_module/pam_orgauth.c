/*
 * pam_orgauth: organisation-level MFA and access rules (pam_orgauth(8)).
 *
 * account: the user must hold an allowed role in the host's organisation
 *          (and, if configured, be on a named project or dataset).
 * auth:    a user who holds a role in an organisation that requires MFA,
 *          or who has MFA enrolled, must pass a code; one who needs it and
 *          has none is enrolled now.  Everyone else gets PAM_IGNORE, never
 *          PAM_SUCCESS, so no stack can let this line stand in for the
 *          password.
 *
 * Anything that cannot be read or trusted (configuration, cache, store)
 * fails closed.  Every decision is one syslog line.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#include <security/pam_appl.h>
#include <security/pam_modules.h>

#include <sodium.h>

#include "cache.h"
#include "conf.h"
#include "log.h"
#include "mfa_qr.h"
#include "mfa_store.h"

#define CODE_PROMPT    "Verification code: "
#define CONFIRM_PROMPT "Code from the app, to confirm: "
#define MSG_MAX	       4096

struct opts {
	const char *config;
	bool debug;
	bool ssh_after_password;
	bool qr;    /* the admin says the terminals show UTF-8 blocks */
	time_t now; /* the clock; a test build may set it */
};

/* What one call is about, for its log line. */
struct login {
	pam_handle_t *pamh;
	const char *op;
	const char *user;
	bool user_known; /* name only logged for directory users (or debug) */
	const char *org;
	bool debug;
};

static void
log_decision(const struct login *l, int prio, const char *outcome,
	     const char *reason, const char *detail)
{
	char user[OA_LOG_QUOTED_SIZE], service[OA_LOG_QUOTED_SIZE];
	char rhost[OA_LOG_QUOTED_SIZE], org[OA_LOG_QUOTED_SIZE];
	char det[OA_LOG_QUOTED_SIZE];
	const void *item;
	const char *svc = NULL, *rh = NULL;

	if (pam_get_item(l->pamh, PAM_SERVICE, &item) == PAM_SUCCESS)
		svc = item;
	if (pam_get_item(l->pamh, PAM_RHOST, &item) == PAM_SUCCESS)
		rh = item;
	/*
	 * A name that is not in the directory is often a password typed
	 * into the user field: only logged when asked to (debug).
	 */
	if (l->user != NULL && !l->user_known && !l->debug)
		snprintf(user, sizeof(user), "(not-in-directory)");
	else
		oa_log_quote(user, sizeof(user), l->user);
	oa_log_quote(service, sizeof(service), svc);
	oa_log_quote(rhost, sizeof(rhost), rh);
	oa_log_quote(org, sizeof(org),
		     l->org != NULL && l->org[0] != '\0' ? l->org : NULL);
	if (detail != NULL)
		oa_log_quote(det, sizeof(det), detail);
	oa_log(prio, "pam",
	       "op=%s user=%s service=%s rhost=%s org=%s outcome=%s "
	       "reason=%s%s%s",
	       l->op, user, service, rhost, org, outcome, reason,
	       detail != NULL ? " detail=" : "", detail != NULL ? det : "");
}

static void debug_log(const struct login *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
debug_log(const struct login *l, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!l->debug)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	oa_log(LOG_DEBUG, "pam", "op=%s debug: %s", l->op, msg);
}

/*
 * One message through the application's conversation.  For a prompt,
 * *resp receives the answer (free it with drop_answer); a missing answer
 * is a failure.
 */
static int
converse(pam_handle_t *pamh, int style, const char *text, char **resp)
{
	const struct pam_message msg = {style, text};
	const struct pam_message *msgp = &msg;
	struct pam_response *reply = NULL;
	const struct pam_conv *conv;
	const void *item;
	int rc;

	if (resp != NULL)
		*resp = NULL;
	rc = pam_get_item(pamh, PAM_CONV, &item);
	if (rc != PAM_SUCCESS)
		return rc;
	conv = item;
	if (conv == NULL || conv->conv == NULL)
		return PAM_CONV_ERR;
	rc = conv->conv(1, &msgp, &reply, conv->appdata_ptr);
	if (rc != PAM_SUCCESS) {
		/* Some applications leave a partial reply behind. */
		if (reply != NULL) {
			if (reply[0].resp != NULL) {
				sodium_memzero(reply[0].resp,
					       strlen(reply[0].resp));
				free(reply[0].resp);
			}
			free(reply);
		}
		return PAM_CONV_ERR;
	}
	if (resp != NULL) {
		if (reply == NULL || reply[0].resp == NULL) {
			free(reply);
			return PAM_CONV_ERR;
		}
		*resp = reply[0].resp;
	} else if (reply != NULL && reply[0].resp != NULL) {
		free(reply[0].resp);
	}
	free(reply);
	return PAM_SUCCESS;
}

static void
drop_answer(char *resp)
{
	if (resp == NULL)
		return;
	sodium_memzero(resp, strlen(resp));
	free(resp);
}

static void tell(pam_handle_t *pamh, int style, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
tell(pam_handle_t *pamh, int style, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)converse(pamh, style, msg, NULL);
}

static int
parse_opts(pam_handle_t *pamh, int argc, const char **argv, struct opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->config = oa_conf_default_path();
	o->now = time(NULL);
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "config=", 7) == 0 && argv[i][7] == '/') {
			o->config = argv[i] + 7;
		} else if (strcmp(argv[i], "debug") == 0) {
			o->debug = true;
		} else if (strcmp(argv[i], "ssh_after_password") == 0) {
			o->ssh_after_password = true;
		} else if (strcmp(argv[i], "qr") == 0) {
			o->qr = true;
#ifdef OA_TEST_CLOCK
		} else if (strncmp(argv[i], "now=", 4) == 0) {
			/* Only in the test build: tests/pam_orgauth_clock. */
			o->now = (time_t)strtoll(argv[i] + 4, NULL, 10);
#endif
		} else {
			char q[OA_LOG_QUOTED_SIZE];

			oa_log(LOG_ERR, "pam",
			       "unknown or malformed module option %s; "
			       "refusing (see pam_orgauth(8))",
			       oa_log_quote(q, sizeof(q), argv[i]));
			(void)pamh;
			return -1;
		}
	}
	return 0;
}

static void
report_conf(void *ctx, const char *file, unsigned line, const char *message)
{
	char f[OA_LOG_QUOTED_SIZE];

	(void)ctx;
	oa_log(LOG_ERR, "pam", "config %s line %u: %s",
	       oa_log_quote(f, sizeof(f), file), line, message);
}

/*
 * Options and configuration for one call.  Returns PAM_SUCCESS or the
 * code to fail with (after logging).
 */
static int
setup(pam_handle_t *pamh, int argc, const char **argv, struct opts *o,
      struct oa_conf *conf, struct login *l)
{
	if (parse_opts(pamh, argc, argv, o) < 0) {
		log_decision(l, LOG_ERR, "failure", "bad-module-option", NULL);
		return PAM_SERVICE_ERR;
	}
	l->debug = o->debug;
	if (oa_conf_load(conf, o->config, report_conf, NULL) < 0) {
		log_decision(l, LOG_ERR, "failure", "config-unusable",
			     o->config);
		return PAM_AUTHINFO_UNAVAIL;
	}
	/*
	 * Whoever can write the configuration decides who needs MFA (a far
	 * mfa_grace_until, an empty mfa_dir, no host_organisation).
	 */
	if (!conf->loaded_safe) {
		report_conf(NULL, o->config, 0,
			    "owned by another user, or writable by group or "
			    "others; not trusted");
		log_decision(l, LOG_ERR, "failure", "config-unusable",
			     o->config);
		return PAM_AUTHINFO_UNAVAIL;
	}
	l->org = conf->host_organisation;
	return PAM_SUCCESS;
}

static int
get_user(pam_handle_t *pamh, struct login *l)
{
	const char *user = NULL;
	int rc;

	rc = pam_get_user(pamh, &user, NULL);
	if (rc != PAM_SUCCESS || user == NULL || user[0] == '\0') {
		log_decision(l, LOG_ERR, "failure", "no-user-name", NULL);
		return rc == PAM_SUCCESS || rc == PAM_CONV_AGAIN ? PAM_AUTH_ERR
								 : rc;
	}
	l->user = user;
	return PAM_SUCCESS;
}

static int
open_cache(const struct oa_conf *conf, struct oa_cache_map *map,
	   struct login *l)
{
	enum oa_cache_error err;

	err = oa_cache_open(map, conf->cache_file);
	if (err != OA_CACHE_OK) {
		char detail[OA_CONF_PATH_LEN + 64];

		snprintf(detail, sizeof(detail), "%s: %s", conf->cache_file,
			 oa_cache_strerror(err));
		log_decision(l, LOG_ERR, "failure", "cache-unusable", detail);
		return -1;
	}
	return 0;
}

/*
 * Whether the user's roles make MFA mandatory: any organisation the user
 * holds a role in that requires it, or only the host's with mfa_scope =
 * host.  *org names the organisation that requires it.
 */
static bool
mfa_required(const struct oa_conf *conf, const struct oa_cache_map *map,
	     const struct oa_cache_user *user, const char **org)
{
	struct oa_cache_role role;
	uint32_t i, n;

	n = oa_cache_user_n_roles(map, user);
	for (i = 0; i < n; i++) {
		if (!oa_cache_user_role(map, user, i, &role))
			continue;
		if (!role.org.mfa_required)
			continue;
		if (conf->mfa_scope == OA_MFA_SCOPE_HOST &&
		    strcmp(role.org.name, conf->host_organisation) != 0)
			continue;
		*org = role.org.name;
		return true;
	}
	return false;
}

static void
format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(buf, size, "later");
}

/* The code prompt; the same for every user who gets one. */
static int
ask_code(pam_handle_t *pamh, const char *prompt, char **code)
{
	return converse(pamh, PAM_PROMPT_ECHO_OFF, prompt, code);
}

static int
verify_code(pam_handle_t *pamh, const struct oa_conf *conf,
	    const struct opts *o, struct oa_mfa_store *store, struct login *l)
{
	enum oa_mfa_verdict verdict;
	enum oa_mfa_error err;
	int64_t locked_until;
	char *code = NULL;
	char when[64];
	int ret = PAM_AUTH_ERR;

	if (ask_code(pamh, CODE_PROMPT, &code) != PAM_SUCCESS) {
		log_decision(l, LOG_NOTICE, "failure", "conversation-failed",
			     NULL);
		return PAM_AUTH_ERR;
	}
	err = oa_mfa_verify(store, conf, l->user, code, o->now, &verdict,
			    &locked_until);
	drop_answer(code);
	if (err != OA_MFA_OK) {
		log_decision(l, LOG_ERR, "failure", "store-unusable",
			     oa_mfa_strerror(err));
		return PAM_AUTHINFO_UNAVAIL;
	}
	switch (verdict) {
	case OA_MFA_ACCEPTED:
		ret = PAM_SUCCESS;
		log_decision(l, LOG_INFO, "success", "otp-accepted", NULL);
		break;
	case OA_MFA_ACCEPTED_RECOVERY:
		ret = PAM_SUCCESS;
		tell(pamh, PAM_TEXT_INFO,
		     "Recovery code accepted; it cannot be used again.");
		log_decision(l, LOG_NOTICE, "success", "recovery-code", NULL);
		break;
	case OA_MFA_LOCKED:
		ret = PAM_MAXTRIES;
		format_time(locked_until, when, sizeof(when));
		tell(pamh, PAM_ERROR_MSG,
		     "Too many wrong codes: the second factor is locked until "
		     "%s.",
		     when);
		log_decision(l, LOG_WARNING, "failure", "locked", NULL);
		break;
	case OA_MFA_REJECTED:
	case OA_MFA_REPLAYED:
		if (locked_until != 0) {
			format_time(locked_until, when, sizeof(when));
			tell(pamh, PAM_ERROR_MSG,
			     "Too many wrong codes: the second factor is "
			     "locked until %s.",
			     when);
		}
		log_decision(l, LOG_NOTICE, "failure",
			     oa_mfa_verdict_name(verdict),
			     locked_until != 0 ? "lockout started" : NULL);
		break;
	}
	return ret;
}

/* The URI as a QR code, in a message of its own. */
static int
show_qr(pam_handle_t *pamh, const struct oa_conf *conf, struct login *l,
	const struct oa_mfa_record *rec)
{
	char *uri = NULL, *qr = NULL;
	int ret = PAM_SUCCESS;

	if (!oa_mfa_qr_available()) {
		oa_log(LOG_WARNING, "pam",
		       "option qr: built without libqrencode; no QR code");
		return PAM_SUCCESS;
	}
	uri = sodium_malloc(OA_MFA_URI_LEN);
	qr = sodium_malloc(OA_MFA_QR_SIZE);
	/* Without a QR code the URI and the key still do. */
	if (uri == NULL || qr == NULL ||
	    oa_mfa_uri(conf, l->user, rec, uri, OA_MFA_URI_LEN) < 0 ||
	    oa_mfa_qr(uri, qr, OA_MFA_QR_SIZE) < 0) {
		oa_log(LOG_WARNING, "pam", "option qr: no QR code drawn");
		goto out;
	}
	ret = converse(pamh, PAM_TEXT_INFO, qr, NULL);
out:
	sodium_free(qr);
	sodium_free(uri);
	return ret;
}

/*
 * Enrolment at login.  XXX: PAM cannot tell a module whether the lines
 * before it succeeded, so the module trusts the stack to have ended on a
 * wrong password before reaching it (requisite, or Debian's pam_deny
 * fallback, as the shipped profile does; see pam_orgauth(8)).  In a stack
 * that runs it after a failed password, someone who knows only a user
 * name could enrol an authenticator for a user who has none yet.
 * A QR code only with the module option qr: the module cannot see what
 * the client's terminal can show, so the administrator says.
 */
static int
enrol(pam_handle_t *pamh, const struct oa_conf *conf, const struct opts *o,
      struct oa_mfa_store *store, struct login *l)
{
	struct oa_mfa_record rec;
	struct oa_mfa_codes codes = {0, NULL};
	enum oa_mfa_error err;
	char *msg = NULL, *code = NULL;
	char key[64] = "";
	uint64_t step;
	size_t len;
	unsigned i;
	int ret = PAM_AUTH_ERR;

	if (oa_mfa_record_init(&rec) < 0)
		return PAM_BUF_ERR;
	/* The message holds the secret: a locked, wiped buffer. */
	msg = sodium_malloc(MSG_MAX);
	if (msg == NULL) {
		ret = PAM_BUF_ERR;
		goto out;
	}
	oa_mfa_generate(conf, &rec);
	rec.enrolled_at = (int64_t)o->now;
	len = (size_t)snprintf(
	    msg, MSG_MAX,
	    "Your organisation requires a second factor (multi-factor "
	    "authentication) to log in, and none is set up for you yet.\n"
	    "Add this account to an authenticator app (TOTP) with the "
	    "URI below:\n\n  ");
	if (oa_mfa_uri(conf, l->user, &rec, msg + len, MSG_MAX - len) < 0 ||
	    oa_mfa_secret_base32(&rec, key, sizeof(key)) < 0) {
		ret = PAM_BUF_ERR;
		goto out;
	}
	len = strlen(msg);
	snprintf(msg + len, MSG_MAX - len, "\n\nor type in the key: %s\n", key);
	sodium_memzero(key, sizeof(key));
	if (o->qr && show_qr(pamh, conf, l, &rec) != PAM_SUCCESS) {
		log_decision(l, LOG_NOTICE, "failure", "conversation-failed",
			     "enrolment");
		goto out;
	}
	if (converse(pamh, PAM_TEXT_INFO, msg, NULL) != PAM_SUCCESS) {
		log_decision(l, LOG_NOTICE, "failure", "conversation-failed",
			     "enrolment");
		goto out;
	}
	if (ask_code(pamh, CONFIRM_PROMPT, &code) != PAM_SUCCESS) {
		log_decision(l, LOG_NOTICE, "failure", "conversation-failed",
			     "enrolment");
		goto out;
	}
	if (!oa_mfa_check_otp(conf, &rec, code, o->now, &step)) {
		tell(pamh, PAM_ERROR_MSG,
		     "That code does not match: MFA was not set up, and the "
		     "login is refused.  Try again at the next login.");
		log_decision(l, LOG_NOTICE, "failure", "enrol-unconfirmed",
			     NULL);
		goto out;
	}
	/* The confirming code is spent like any other. */
	rec.counter = rec.kind == OA_OTP_TOTP ? step : step + 1;
	err = oa_mfa_recovery_codes(conf, &rec, &codes);
	if (err != OA_MFA_OK) {
		log_decision(l, LOG_ERR, "failure", "enrol-generate-failed",
			     oa_mfa_strerror(err));
		ret = PAM_AUTHINFO_UNAVAIL;
		goto out;
	}
	err = oa_mfa_enrol(store, l->user, &rec, false);
	if (err != OA_MFA_OK) {
		log_decision(l, LOG_ERR, "failure", "enrol-store-failed",
			     oa_mfa_strerror(err));
		ret =
		    err == OA_MFA_EEXIST ? PAM_AUTH_ERR : PAM_AUTHINFO_UNAVAIL;
		goto out;
	}
	if (codes.n > 0) {
		len = (size_t)snprintf(
		    msg, MSG_MAX,
		    "MFA is set up.  Recovery codes, each usable once "
		    "instead of a code from the app; keep them somewhere "
		    "safe, they are not shown again:\n");
		for (i = 0; i < codes.n && len < MSG_MAX; i++)
			len += (size_t)snprintf(msg + len, MSG_MAX - len,
						"  %s\n", codes.code[i]);
		/* Straight from the wiped buffer: tell() would copy it. */
		(void)converse(pamh, PAM_TEXT_INFO, msg, NULL);
	} else {
		tell(pamh, PAM_TEXT_INFO, "MFA is set up.");
	}
	log_decision(l, LOG_NOTICE, "success", "enrolled", NULL);
	ret = PAM_SUCCESS;
out:
	sodium_memzero(key, sizeof(key));
	drop_answer(code);
	oa_mfa_codes_free(&codes);
	sodium_free(msg);
	oa_mfa_record_free(&rec);
	return ret;
}

/* True when an earlier method of this sshd login was "password". */
static bool
ssh_password_passed(pam_handle_t *pamh)
{
	const char *info = pam_getenv(pamh, "SSH_AUTH_INFO_0");
	const char *p;

	for (p = info; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, "password", 8) == 0 &&
		    (p[8] == '\n' || p[8] == '\0' || p[8] == ' '))
			return true;
	}
	return false;
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct login l = {pamh, "auth", NULL, false, NULL, false};
	struct oa_cache_map map = {NULL, 0, 0, 0};
	struct oa_cache_user cu;
	struct oa_mfa_store *store = NULL;
	struct oa_conf *conf;
	struct opts o;
	enum oa_mfa_error err;
	const char *mfa_org = NULL;
	bool required, enrolled;
	char *code = NULL;
	int ret = PAM_SERVICE_ERR;

	(void)flags;
	conf = malloc(sizeof(*conf));
	if (conf == NULL)
		return PAM_BUF_ERR;
	ret = setup(pamh, argc, argv, &o, conf, &l);
	if (ret != PAM_SUCCESS)
		goto out;
	ret = get_user(pamh, &l);
	if (ret != PAM_SUCCESS)
		goto out;
	if (o.ssh_after_password && !ssh_password_passed(pamh)) {
		/* The sshd password method's call: the code comes later. */
		log_decision(&l, LOG_INFO, "ignore", "ssh-password-method",
			     NULL);
		ret = PAM_IGNORE;
		goto out;
	}
	ret = PAM_AUTHINFO_UNAVAIL;
	if (open_cache(conf, &map, &l) < 0)
		goto out;
	if (!oa_cache_user_by_name(&map, l.user, &cu)) {
		if (conf->unknown_users == OA_UNKNOWN_IGNORE) {
			log_decision(&l, LOG_INFO, "ignore", "not-in-directory",
				     NULL);
			ret = PAM_IGNORE;
			goto out;
		}
		/* The prompt an enrolled user gets, then a refusal. */
		(void)ask_code(pamh, CODE_PROMPT, &code);
		log_decision(&l, LOG_NOTICE, "failure", "not-in-directory",
			     NULL);
		ret = PAM_USER_UNKNOWN;
		goto out;
	}
	l.user_known = true;
	required = mfa_required(conf, &map, &cu, &mfa_org);
	if (l.org == NULL || l.org[0] == '\0')
		l.org = mfa_org;
	if (!oa_mfa_valid_user(l.user)) {
		log_decision(&l, LOG_ERR, "failure", "user-name-unusable",
			     NULL);
		goto out;
	}
	err = oa_mfa_store_open(conf, &store);
	if (err != OA_MFA_OK) {
		log_decision(&l, LOG_ERR, "failure", "store-unusable",
			     oa_mfa_strerror(err));
		goto out;
	}
	err = oa_mfa_enrolled(store, l.user);
	if (err != OA_MFA_OK && err != OA_MFA_ENOENT) {
		log_decision(&l, LOG_ERR, "failure", "store-unusable",
			     oa_mfa_strerror(err));
		goto out;
	}
	enrolled = err == OA_MFA_OK;
	debug_log(&l, "mfa required=%d (by %s) enrolled=%d", required,
		  mfa_org != NULL ? mfa_org : "-", enrolled);
	if (enrolled) {
		ret = verify_code(pamh, conf, &o, store, &l);
		goto out;
	}
	if (!required) {
		log_decision(&l, LOG_INFO, "ignore", "mfa-not-required", NULL);
		ret = PAM_IGNORE;
		goto out;
	}
	if (conf->mfa_grace_until != 0 && o.now < conf->mfa_grace_until) {
		char when[64];

		format_time(conf->mfa_grace_until, when, sizeof(when));
		tell(pamh, PAM_TEXT_INFO,
		     "Your organisation requires multi-factor authentication "
		     "from %s; set it up before then (orgauthctl mfa enroll "
		     "%s, run by an administrator, or at a login after that "
		     "date).",
		     when, l.user);
		log_decision(&l, LOG_NOTICE, "ignore", "not-enrolled-grace",
			     NULL);
		ret = PAM_IGNORE;
		goto out;
	}
	if (conf->mfa_unenrolled == OA_UNENROLLED_DENY) {
		tell(pamh, PAM_ERROR_MSG,
		     "Your organisation requires multi-factor authentication "
		     "and none is set up for you.  Ask an administrator to "
		     "run: orgauthctl mfa enroll %s",
		     l.user);
		log_decision(&l, LOG_NOTICE, "failure", "not-enrolled", NULL);
		ret = PAM_AUTH_ERR;
		goto out;
	}
	ret = enrol(pamh, conf, &o, store, &l);
out:
	drop_answer(code);
	oa_mfa_store_close(store);
	if (map.base != NULL)
		oa_cache_close(&map);
	sodium_memzero(&o, sizeof(o));
	free(conf);
	return ret;
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	/* No credentials of its own; never a success that could count. */
	return PAM_IGNORE;
}

/* Whether the user is on the host organisation's project or dataset. */
static bool
on_entity(const struct oa_conf *conf, const struct oa_cache_map *map,
	  const struct oa_cache_user *user, enum oa_group_kind kind,
	  const char *name)
{
	struct oa_cache_group g;
	uint32_t i, n;

	n = oa_cache_user_n_groups(map, user);
	for (i = 0; i < n; i++) {
		if (!oa_cache_user_group(map, user, i, &g))
			continue;
		if (g.kind == kind && g.entity != NULL && g.org != NULL &&
		    strcmp(g.entity, name) == 0 &&
		    strcmp(g.org, conf->host_organisation) == 0)
			return true;
	}
	return false;
}

PAM_EXTERN int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct login l = {pamh, "account", NULL, false, NULL, false};
	struct oa_cache_map map = {NULL, 0, 0, 0};
	struct oa_cache_user cu;
	struct oa_cache_role role;
	struct oa_conf *conf;
	struct opts o;
	const char *reason = NULL;
	unsigned held = 0;
	uint32_t i, n;
	int ret;

	conf = malloc(sizeof(*conf));
	if (conf == NULL)
		return PAM_BUF_ERR;
	ret = setup(pamh, argc, argv, &o, conf, &l);
	if (ret != PAM_SUCCESS)
		goto out;
	ret = get_user(pamh, &l);
	if (ret != PAM_SUCCESS)
		goto out;
	if (conf->host_organisation[0] == '\0') {
		log_decision(&l, LOG_INFO, "ignore", "no-host-organisation",
			     NULL);
		ret = PAM_IGNORE;
		goto out;
	}
	ret = PAM_AUTHINFO_UNAVAIL;
	if (open_cache(conf, &map, &l) < 0)
		goto out;
	if (!oa_cache_user_by_name(&map, l.user, &cu)) {
		if (conf->unknown_users == OA_UNKNOWN_IGNORE) {
			log_decision(&l, LOG_INFO, "ignore", "not-in-directory",
				     NULL);
			ret = PAM_IGNORE;
			goto out;
		}
		reason = "not-in-directory";
	} else {
		l.user_known = true;
		n = oa_cache_user_n_roles(&map, &cu);
		for (i = 0; i < n; i++)
			if (oa_cache_user_role(&map, &cu, i, &role) &&
			    strcmp(role.org.name, conf->host_organisation) == 0)
				held |= (unsigned)role.role;
		if ((held & conf->allowed_roles) == 0)
			reason = held == 0 ? "no-role-in-host-organisation"
					   : "role-not-allowed";
		else if (conf->required_project[0] != '\0' &&
			 !on_entity(conf, &map, &cu, OA_GROUP_PROJECT,
				    conf->required_project))
			reason = "not-on-required-project";
		else if (conf->required_dataset[0] != '\0' &&
			 !on_entity(conf, &map, &cu, OA_GROUP_DATASET,
				    conf->required_dataset))
			reason = "not-on-required-dataset";
	}
	if (reason != NULL) {
		if (!(flags & PAM_SILENT))
			tell(pamh, PAM_ERROR_MSG,
			     "Access denied: this host belongs to the "
			     "organisation %s, and your account does not have "
			     "the access it requires (%s).",
			     conf->host_organisation, reason);
		log_decision(&l, LOG_NOTICE, "failure", reason, NULL);
		ret = PAM_PERM_DENIED;
		goto out;
	}
	log_decision(&l, LOG_INFO, "success", "role-allowed", NULL);
	ret = PAM_SUCCESS;
out:
	if (map.base != NULL)
		oa_cache_close(&map);
	free(conf);
	return ret;
}
