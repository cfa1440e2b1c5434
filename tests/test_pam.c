/*
 * pam_orgauth through the real libpam: pam_start_confdir() with service
 * files in a temporary folder, a scripted conversation, and codes computed
 * with liboath from the secret the module showed.  The sample
 * organisations are examples/directory.ldif, synced by orgauthctl into a
 * temporary cache (acme requires MFA and owns
 * the hosts here; walt of labelforce is acme workforce via project
 * apollo, wendy via dataset faces; globex requires nothing).
 *
 * Time is set per call through the test build's now= option
 * (tests/pam_orgauth_clock.so), so window edges and lockouts are exact;
 * nothing here waits for the clock.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <security/pam_appl.h>

static int failures;
static bool keep_service;   /* concurrent logins share one service file */
static const char *pam_env; /* put into the PAM environment, if set */
/* Argon2id at interactive limits is slow under valgrind: few codes. */
static int n_recovery = 2;
static char tmp[256], confdir[300], conf_path[300], mfa_dir[300];
static char module[600], ldif[600], orgauthctl[600];

#define PERIOD 30
/* A fixed clock: the start of a time step. */
#define T0	((time_t)1900000010 - (time_t)1900000010 % PERIOD)
#define STEP(t) ((t) / PERIOD)

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			failures++;                                            \
		}                                                              \
	} while (0)

#define CHECK_RC(got, want)                                                    \
	do {                                                                   \
		int got_ = (got), want_ = (want);                              \
		if (got_ != want_) {                                           \
			fprintf(stderr, "%s:%d: got %s, want %s\n", __FILE__,  \
				__LINE__, pam_strerror(NULL, got_),            \
				pam_strerror(NULL, want_));                    \
			failures++;                                            \
		}                                                              \
	} while (0)

static void
broken(const char *what)
{
	fprintf(stderr, "test_pam: %s: %s\n", what, strerror(errno));
	exit(99);
}

/* --- the conversation ---------------------------------------------- */

struct script {
	const char *answers[8]; /* a literal, or "@otp<+-N>" (see answer) */
	int next;
	time_t now;
	char transcript[16384];
	unsigned char secret[64]; /* learnt from an otpauth URI */
	size_t secret_len;
};

static void
learn_secret(struct script *s, const char *text)
{
	const char *p = strstr(text, "secret=");
	char b32[128];
	char *raw = NULL;
	size_t n = 0, len = 0;

	if (p == NULL)
		return;
	p += 7;
	while (p[n] != '\0' && p[n] != '&' && n < sizeof(b32) - 1) {
		b32[n] = p[n];
		n++;
	}
	b32[n] = '\0';
	if (oath_base32_decode(b32, n, &raw, &len) != OATH_OK ||
	    len > sizeof(s->secret))
		broken("base32 secret in the URI");
	memcpy(s->secret, raw, len);
	s->secret_len = len;
	free(raw);
}

static void
totp(const unsigned char *secret, size_t len, long long step, char *out)
{
	if (oath_totp_generate((const char *)secret, len,
			       (time_t)(step * PERIOD), PERIOD, 0, 6,
			       out) != OATH_OK)
		broken("oath_totp_generate");
}

/* "@otp+N": the TOTP of N steps from now; "@hotpN": the HOTP of counter N */
static char *
answer(struct script *s, const char *a)
{
	char code[16];

	if (strncmp(a, "@hotp", 5) == 0) {
		if (oath_hotp_generate((const char *)s->secret, s->secret_len,
				       (uint64_t)atoi(a + 5), 6, false,
				       OATH_HOTP_DYNAMIC_TRUNCATION,
				       code) != OATH_OK)
			broken("oath_hotp_generate");
		return strdup(code);
	}
	if (strncmp(a, "@otp", 4) != 0)
		return strdup(a);
	totp(s->secret, s->secret_len, STEP(s->now) + atoi(a + 4), code);
	return strdup(code);
}

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
     void *data)
{
	struct script *s = data;
	struct pam_response *r;
	int i;

	r = calloc((size_t)n, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		size_t used = strlen(s->transcript);

		snprintf(s->transcript + used, sizeof(s->transcript) - used,
			 "[%d] %s\n", msg[i]->msg_style, msg[i]->msg);
		learn_secret(s, msg[i]->msg);
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		if (s->next >= 8 || s->answers[s->next] == NULL) {
			/* Like a user who closes the prompt. */
			for (i = 0; i < n; i++)
				free(r[i].resp);
			free(r);
			return PAM_CONV_ERR;
		}
		r[i].resp = answer(s, s->answers[s->next++]);
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* --- files ---------------------------------------------------------- */

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		broken(path);
}

/* The configuration: the common part plus extra lines. */
static void
write_conf(const char *extra)
{
	char text[4096];

	snprintf(text, sizeof(text),
		 "cache_file = %s/cache\n"
		 "directory_ldif = %s\n"
		 "mfa_dir = %s\n"
		 "host_key_file = %s/host.key\n"
		 "host_organisation = acme\n"
		 "recovery_codes = %d\n"
		 "lockout_failures = 3\n"
		 "lockout_window = 600\n"
		 "lockout_duration = 900\n"
		 "%s",
		 tmp, ldif, mfa_dir, tmp, n_recovery, extra);
	write_file(conf_path, text);
}

/*
 * A service file: every "@M" in lines becomes the module with its
 * configuration and the clock.
 */
static void
write_service(const char *name, const char *lines, time_t now, const char *opts)
{
	char text[4096], mod[1024], path[400];
	const char *p;
	size_t o = 0;

	snprintf(mod, sizeof(mod), "%s config=%s now=%lld%s%s", module,
		 conf_path, (long long)now, opts[0] ? " " : "", opts);
	for (p = lines; *p != '\0' && o + sizeof(mod) < sizeof(text); p++) {
		if (p[0] == '@' && p[1] == 'M') {
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%s",
					      mod);
			p++;
		} else {
			text[o++] = *p;
		}
	}
	text[o] = '\0';
	snprintf(path, sizeof(path), "%s/%s", confdir, name);
	write_file(path, text);
}

enum op { AUTH, ACCOUNT };

/*
 * One login: the stack "lines" as service "svc", at time now, answering
 * prompts from answers (NULL-terminated).
 */
static int
login_with(struct script *s, const char *lines, const char *opts,
	   const char *user, enum op op, time_t now, ...)
{
	struct pam_conv pc = {conv, s};
	pam_handle_t *pamh = NULL;
	va_list ap;
	const char *a;
	int i = 0, rc;

	s->next = 0;
	s->now = now;
	s->transcript[0] = '\0';
	memset(s->answers, 0, sizeof(s->answers));
	va_start(ap, now);
	while ((a = va_arg(ap, const char *)) != NULL && i < 7)
		s->answers[i++] = a;
	va_end(ap);
	if (!keep_service)
		write_service("orgauth-test", lines, now, opts);
	rc = pam_start_confdir("orgauth-test", user, &pc, confdir, &pamh);
	if (rc != PAM_SUCCESS)
		broken("pam_start_confdir");
	if (pam_env != NULL && pam_putenv(pamh, pam_env) != PAM_SUCCESS)
		broken("pam_putenv");
	rc = op == AUTH ? pam_authenticate(pamh, 0) : pam_acct_mgmt(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

/*
 * The module's own return code for one call: a stack folds PAM_IGNORE
 * into a failure of its own, so this calls the entry point directly, on
 * a handle of the real libpam.
 */
static int
direct(struct script *s, const char *user, enum op op, time_t now, ...)
{
	typedef int entry_fn(pam_handle_t *, int, int, const char **);
	struct pam_conv pc = {conv, s};
	pam_handle_t *pamh = NULL;
	char config[400], clock[64];
	const char *argv[2] = {config, clock};
	entry_fn *fn;
	void *dl;
	va_list ap;
	const char *a;
	int i = 0, rc;

	s->next = 0;
	s->now = now;
	s->transcript[0] = '\0';
	memset(s->answers, 0, sizeof(s->answers));
	va_start(ap, now);
	while ((a = va_arg(ap, const char *)) != NULL && i < 7)
		s->answers[i++] = a;
	va_end(ap);
	snprintf(config, sizeof(config), "config=%s", conf_path);
	snprintf(clock, sizeof(clock), "now=%lld", (long long)now);
	write_service("orgauth-test", "auth required pam_permit.so\n", now, "");
	dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL) {
		fprintf(stderr, "test_pam: %s\n", dlerror());
		exit(99);
	}
	fn = (entry_fn *)dlsym(dl, op == AUTH ? "pam_sm_authenticate"
					      : "pam_sm_acct_mgmt");
	if (fn == NULL)
		broken("dlsym");
	if (pam_start_confdir("orgauth-test", user, &pc, confdir, &pamh) !=
	    PAM_SUCCESS)
		broken("pam_start_confdir");
	rc = fn(pamh, 0, 2, argv);
	pam_end(pamh, rc);
	dlclose(dl);
	return rc;
}

#define AUTH_LINE "auth required @M\n"
#define ACCT_LINE "account required @M\n"

#define auth(s, user, now, ...)                                                \
	login_with(s, AUTH_LINE, "", user, AUTH, now, __VA_ARGS__)
#define account(s, user, ...)                                                  \
	login_with(s, ACCT_LINE, "", user, ACCOUNT, T0, __VA_ARGS__)

static bool
has(const struct script *s, const char *needle)
{
	return strstr(s->transcript, needle) != NULL;
}

static int
run_cmd(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1)
		broken(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

static bool
record_exists(const char *user)
{
	char path[400];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s.mfa", mfa_dir, user);
	return stat(path, &st) == 0;
}

/* --- the cases ------------------------------------------------------ */

static void
test_account(void)
{
	struct script s;

	memset(&s, 0, sizeof(s));
	CHECK_RC(account(&s, "alice", NULL), PAM_SUCCESS);
	CHECK_RC(account(&s, "bob", NULL), PAM_SUCCESS);
	/* labelforce's walt holds acme's workforce role via apollo */
	CHECK_RC(account(&s, "walt", NULL), PAM_SUCCESS);
	CHECK_RC(account(&s, "gina", NULL), PAM_PERM_DENIED);
	CHECK(has(&s, "Access denied"));
	CHECK(has(&s, "acme"));
	CHECK_RC(account(&s, "will", NULL), PAM_PERM_DENIED);
	/* on an acme project, but globex is no Workforce organisation */
	CHECK_RC(account(&s, "oscar", NULL), PAM_PERM_DENIED);
	/* not in the directory: another module's business */
	CHECK_RC(direct(&s, "nobody", ACCOUNT, T0, NULL), PAM_IGNORE);

	write_conf("unknown_users = deny\n");
	CHECK_RC(account(&s, "nobody", NULL), PAM_PERM_DENIED);

	write_conf("allowed_roles = admin, member\n");
	CHECK_RC(account(&s, "walt", NULL), PAM_PERM_DENIED);
	CHECK_RC(account(&s, "bob", NULL), PAM_SUCCESS);

	write_conf("required_project = apollo\n");
	CHECK_RC(account(&s, "bob", NULL), PAM_SUCCESS);
	CHECK_RC(account(&s, "walt", NULL), PAM_SUCCESS);
	CHECK_RC(account(&s, "carol", NULL), PAM_PERM_DENIED);

	write_conf("required_dataset = faces\n");
	CHECK_RC(account(&s, "bob", NULL), PAM_SUCCESS);
	CHECK_RC(account(&s, "wendy", NULL), PAM_SUCCESS);
	CHECK_RC(account(&s, "carol", NULL), PAM_PERM_DENIED);

	/* a host of no organisation skips the check */
	{
		char text[1024];

		snprintf(text, sizeof(text),
			 "cache_file = %s/cache\nmfa_dir = %s\n"
			 "host_key_file = %s/host.key\n",
			 tmp, mfa_dir, tmp);
		write_file(conf_path, text);
		CHECK_RC(direct(&s, "gina", ACCOUNT, T0, NULL), PAM_IGNORE);
		/* but a rule on a host organisation that is not set is a
		 * broken configuration, not "no check" */
		snprintf(text, sizeof(text),
			 "cache_file = %s/cache\nmfa_dir = %s\n"
			 "host_key_file = %s/host.key\n"
			 "required_project = apollo\n",
			 tmp, mfa_dir, tmp);
		write_file(conf_path, text);
		CHECK_RC(direct(&s, "gina", ACCOUNT, T0, NULL),
			 PAM_AUTHINFO_UNAVAIL);
	}
	write_conf("");
}

static void
test_not_covered(void)
{
	struct script s;

	memset(&s, 0, sizeof(s));
	/* globex requires no MFA: ignored, and nothing is asked */
	CHECK_RC(direct(&s, "gary", AUTH, T0, NULL), PAM_IGNORE);
	CHECK(s.transcript[0] == '\0');
	CHECK_RC(direct(&s, "nobody", AUTH, T0, NULL), PAM_IGNORE);
	CHECK(s.transcript[0] == '\0');
	/* unknown users denied: the enrolled users' prompt, then no */
	write_conf("unknown_users = deny\n");
	CHECK_RC(auth(&s, "nobody", T0, "123456", NULL), PAM_USER_UNKNOWN);
	CHECK(has(&s, "Verification code: "));
	write_conf("");
}

/* Enrols alice at T0; returns her secret in s. */
static void
test_enrolment(struct script *s, char recovery[2][16])
{
	struct script bad;
	const char *p;
	int i;

	memset(&bad, 0, sizeof(bad));
	/* a wrong first code: no login, nothing stored */
	CHECK_RC(auth(&bad, "alice", T0, "000000", NULL), PAM_AUTH_ERR);
	CHECK(has(&bad, "otpauth://totp/"));
	CHECK(!record_exists("alice"));
	/* the conversation given up: the same */
	CHECK(auth(&bad, "alice", T0, NULL) != PAM_SUCCESS);
	CHECK(!record_exists("alice"));

	memset(s, 0, sizeof(*s));
	CHECK_RC(auth(s, "alice", T0, "@otp+0", NULL), PAM_SUCCESS);
	CHECK(s->secret_len == 20);
	CHECK(has(s, "otpauth://totp/orgauth:alice?secret="));
	CHECK(has(s, "&digits=6&period=30"));
	CHECK(!has(s, "\u2588")); /* no QR code without the option qr */
	CHECK(record_exists("alice"));
	/* the recovery codes, shown once */
	p = s->transcript;
	for (i = 0; i < 2; i++) {
		char want[8];

		snprintf(want, sizeof(want), "  %02d-", i + 1);
		p = strstr(p, want);
		CHECK(p != NULL);
		if (p == NULL)
			return;
		memcpy(recovery[i], p + 2, 14);
		recovery[i][14] = '\0';
		p += 16;
	}
	/* the confirming code is spent */
	CHECK_RC(auth(s, "alice", T0, "@otp+0", NULL), PAM_AUTH_ERR);
	/* a normal login with the next step's code */
	CHECK_RC(auth(s, "alice", T0 + PERIOD, "@otp+0", NULL), PAM_SUCCESS);
	CHECK(has(s, "Verification code: "));
	CHECK(!has(s, "otpauth"));
	/* the same code again: refused */
	CHECK_RC(auth(s, "alice", T0 + PERIOD, "@otp+0", NULL), PAM_AUTH_ERR);
	/* a wrong code */
	CHECK_RC(auth(s, "alice", T0 + PERIOD, "111111", NULL), PAM_AUTH_ERR);
	run_cmd("%s --config %s mfa unlock alice >/dev/null", orgauthctl,
		conf_path);
}

/* Steps used so far: up to STEP(T0) + 1. */
static void
test_window(struct script *s)
{
	time_t t = T0 + 10 * PERIOD;

	/* window 1: one step early and one late are accepted */
	CHECK_RC(auth(s, "alice", t, "@otp+1", NULL), PAM_SUCCESS);
	CHECK_RC(auth(s, "alice", t + 3 * PERIOD, "@otp-1", NULL), PAM_SUCCESS);
	/* two steps off is outside */
	CHECK_RC(auth(s, "alice", t + 6 * PERIOD, "@otp-2", NULL),
		 PAM_AUTH_ERR);
	CHECK_RC(auth(s, "alice", t + 6 * PERIOD, "@otp+2", NULL),
		 PAM_AUTH_ERR);
	/* a success clears the two failures */
	CHECK_RC(auth(s, "alice", t + 6 * PERIOD, "@otp+0", NULL), PAM_SUCCESS);
	/* a code older than the last one used is refused, even in window */
	CHECK_RC(auth(s, "alice", t + 7 * PERIOD, "@otp-1", NULL),
		 PAM_AUTH_ERR);
	run_cmd("%s --config %s mfa unlock alice >/dev/null", orgauthctl,
		conf_path);
}

static void
test_lockout(struct script *s)
{
	time_t t = T0 + 100 * PERIOD;
	int rc;

	CHECK_RC(auth(s, "alice", t, "000001", NULL), PAM_AUTH_ERR);
	CHECK_RC(auth(s, "alice", t, "000002", NULL), PAM_AUTH_ERR);
	CHECK_RC(auth(s, "alice", t, "000003", NULL), PAM_AUTH_ERR);
	CHECK(has(s, "locked until"));
	/* locked: the right code does not help */
	CHECK_RC(auth(s, "alice", t + PERIOD, "@otp+0", NULL), PAM_MAXTRIES);
	CHECK(has(s, "locked until"));
	rc = run_cmd("%s --config %s mfa status alice | grep -q 'locked until'",
		     orgauthctl, conf_path);
	CHECK(rc == 0);
	CHECK(run_cmd("%s --config %s mfa unlock alice >/dev/null", orgauthctl,
		      conf_path) == 0);
	rc = run_cmd("%s --config %s mfa status alice | grep -q 'not locked'",
		     orgauthctl, conf_path);
	CHECK(rc == 0);
	CHECK_RC(auth(s, "alice", t + 2 * PERIOD, "@otp+0", NULL), PAM_SUCCESS);

	/* a lockout ends by itself after lockout_duration (900 s) */
	t += 10 * PERIOD;
	CHECK_RC(auth(s, "alice", t, "000001", NULL), PAM_AUTH_ERR);
	CHECK_RC(auth(s, "alice", t, "000002", NULL), PAM_AUTH_ERR);
	CHECK_RC(auth(s, "alice", t, "000003", NULL), PAM_AUTH_ERR);
	CHECK_RC(auth(s, "alice", t + 899, "@otp+0", NULL), PAM_MAXTRIES);
	CHECK_RC(auth(s, "alice", t + 900 + PERIOD, "@otp+0", NULL),
		 PAM_SUCCESS);

	/* failures further apart than lockout_window (600 s) do not add up */
	t += 2000;
	CHECK_RC(auth(s, "alice", t, "000001", NULL), PAM_AUTH_ERR);
	CHECK_RC(auth(s, "alice", t + 1, "000002", NULL), PAM_AUTH_ERR);
	CHECK_RC(auth(s, "alice", t + 601, "000003", NULL), PAM_AUTH_ERR);
	CHECK_RC(auth(s, "alice", t + 602 + PERIOD, "@otp+0", NULL),
		 PAM_SUCCESS);
}

static void
test_recovery(struct script *s, char recovery[2][16])
{
	time_t t = T0 + 400 * PERIOD;

	CHECK_RC(auth(s, "alice", t, recovery[0], NULL), PAM_SUCCESS);
	CHECK(has(s, "Recovery code accepted"));
	CHECK_RC(auth(s, "alice", t, recovery[0], NULL), PAM_AUTH_ERR);
	/* typed in capitals and without dashes: still the code */
	{
		char typed[16];
		size_t i, o = 0;

		for (i = 0; recovery[1][i] != '\0'; i++)
			if (recovery[1][i] != '-')
				typed[o++] =
				    (char)(recovery[1][i] >= 'a' &&
						   recovery[1][i] <= 'z'
					       ? recovery[1][i] - 32
					       : recovery[1][i]);
		typed[o] = '\0';
		CHECK_RC(auth(s, "alice", t, typed, NULL), PAM_SUCCESS);
	}
	CHECK(run_cmd("%s --config %s mfa status alice | grep -q 'left 0/2'",
		      orgauthctl, conf_path) == 0);
}

/* Logins submit one code at the same moment: exactly one gets in. */
static void
test_concurrent(struct script *s)
{
	time_t t = T0 + 500 * PERIOD;
	int fds[2], ok = 0, i, st;
	pid_t pid[4];
	char c;

	for (int round = 0; round < 3; round++) {
		write_service("orgauth-test", AUTH_LINE, t + round * PERIOD,
			      "");
		keep_service = true;
		if (pipe(fds) < 0)
			broken("pipe");
		for (i = 0; i < 4; i++) {
			pid[i] = fork();
			if (pid[i] < 0)
				broken("fork");
			if (pid[i] == 0) {
				close(fds[1]);
				/* wait for the starting gun */
				(void)read(fds[0], &c, 1);
				_exit(auth(s, "alice", t + round * PERIOD,
					   "@otp+0", NULL));
			}
		}
		close(fds[0]);
		close(fds[1]);
		ok = 0;
		for (i = 0; i < 4; i++) {
			if (waitpid(pid[i], &st, 0) < 0 || !WIFEXITED(st))
				broken("child");
			if (WEXITSTATUS(st) == PAM_SUCCESS)
				ok++;
			else
				CHECK_RC(WEXITSTATUS(st), PAM_AUTH_ERR);
		}
		CHECK(ok == 1);
		keep_service = false;
		/* three replays make a lockout (lockout_failures = 3) */
		run_cmd("%s --config %s mfa unlock alice >/dev/null",
			orgauthctl, conf_path);
	}
	run_cmd("%s --config %s mfa unlock alice >/dev/null", orgauthctl,
		conf_path);
}

static void
test_workforce_and_scope(void)
{
	struct script s;

	memset(&s, 0, sizeof(s));
	/* walt, acme workforce, must pass MFA on an acme host */
	CHECK_RC(auth(&s, "walt", T0, "000000", NULL), PAM_AUTH_ERR);
	CHECK(has(&s, "otpauth://"));
	CHECK(!record_exists("walt"));
	/* ... and on every host, unless the scope is the host's org */
	write_conf("mfa_scope = host\n");
	CHECK_RC(auth(&s, "walt", T0, "000000", NULL), PAM_AUTH_ERR);
	{
		char text[1024];

		snprintf(text, sizeof(text),
			 "cache_file = %s/cache\nmfa_dir = %s\n"
			 "host_key_file = %s/host.key\n"
			 "host_organisation = labelforce\n"
			 "mfa_scope = host\n",
			 tmp, mfa_dir, tmp);
		write_file(conf_path, text);
		CHECK_RC(direct(&s, "walt", AUTH, T0, NULL), PAM_IGNORE);
		CHECK(s.transcript[0] == '\0');
		snprintf(text, sizeof(text),
			 "cache_file = %s/cache\nmfa_dir = %s\n"
			 "host_key_file = %s/host.key\n"
			 "host_organisation = labelforce\n",
			 tmp, mfa_dir, tmp);
		write_file(conf_path, text);
		CHECK_RC(auth(&s, "walt", T0, "000000", NULL), PAM_AUTH_ERR);
		CHECK(has(&s, "otpauth://"));
	}
	/* the deny mode names the enrolment command */
	write_conf("mfa_unenrolled = deny\n");
	CHECK_RC(auth(&s, "bob", T0, NULL), PAM_AUTH_ERR);
	CHECK(has(&s, "orgauthctl mfa enroll bob"));
	CHECK(!has(&s, "otpauth"));
	/* a grace period: not yet */
	write_conf("mfa_grace_until = 2100-01-01\n");
	CHECK_RC(direct(&s, "bob", AUTH, T0, NULL), PAM_IGNORE);
	CHECK(has(&s, "2100-01-01"));
	write_conf("mfa_grace_until = 2020-01-01\n");
	CHECK_RC(auth(&s, "bob", T0, "000000", NULL), PAM_AUTH_ERR);
	CHECK(has(&s, "otpauth://"));

	/* walt enrols on the acme host and then needs his code ... */
	write_conf("");
	CHECK_RC(auth(&s, "walt", T0, "@otp+0", NULL), PAM_SUCCESS);
	CHECK_RC(auth(&s, "walt", T0 + PERIOD, "000000", NULL), PAM_AUTH_ERR);
	CHECK_RC(auth(&s, "walt", T0 + PERIOD, "@otp+0", NULL), PAM_SUCCESS);
	/* ... everywhere: enrolled means covered, whatever the scope */
	{
		char text[1024];

		snprintf(text, sizeof(text),
			 "cache_file = %s/cache\nmfa_dir = %s\n"
			 "host_key_file = %s/host.key\n"
			 "host_organisation = labelforce\n"
			 "mfa_scope = host\n",
			 tmp, mfa_dir, tmp);
		write_file(conf_path, text);
		CHECK_RC(auth(&s, "walt", T0 + 2 * PERIOD, "@otp+0", NULL),
			 PAM_SUCCESS);
		CHECK(has(&s, "Verification code: "));
	}
	write_conf("");
}

/* HOTP: counters instead of time steps, each used once. */
static void
test_hotp(void)
{
	struct script s;

	memset(&s, 0, sizeof(s));
	write_conf("otp_type = hotp\notp_window = 2\n");
	CHECK_RC(auth(&s, "carol", T0, "@hotp0", NULL), PAM_SUCCESS);
	CHECK(has(&s, "otpauth://hotp/orgauth:carol?secret="));
	CHECK(has(&s, "&counter=0"));
	CHECK_RC(auth(&s, "carol", T0, "@hotp0", NULL), PAM_AUTH_ERR);
	CHECK_RC(auth(&s, "carol", T0, "@hotp1", NULL), PAM_SUCCESS);
	/* a skipped counter inside the look-ahead, then the older one */
	CHECK_RC(auth(&s, "carol", T0, "@hotp3", NULL), PAM_SUCCESS);
	CHECK_RC(auth(&s, "carol", T0, "@hotp2", NULL), PAM_AUTH_ERR);
	/* beyond the look-ahead (next is 4, window 2) */
	CHECK_RC(auth(&s, "carol", T0, "@hotp7", NULL), PAM_AUTH_ERR);
	CHECK_RC(auth(&s, "carol", T0, "@hotp4", NULL), PAM_SUCCESS);
	write_conf("");
}

/* Option qr: the URI drawn as a QR code too (a build with libqrencode). */
static void
test_qr(void)
{
	struct script s;

	memset(&s, 0, sizeof(s));
	CHECK_RC(
	    login_with(&s, AUTH_LINE, "qr", "bob", AUTH, T0, "@otp+0", NULL),
	    PAM_SUCCESS);
	CHECK(has(&s, "otpauth://totp/orgauth:bob?"));
#ifdef HAVE_QRENCODE
	/* the quiet zone's full blocks, then the finder pattern's corner */
	CHECK(has(&s, "\u2588\u2588\u2588\u2588\u2588\u2588"));
	CHECK(has(&s, "\u2588\u2588 \u2584\u2584\u2584\u2584\u2584 \u2588"));
#else
	CHECK(!has(&s, "\u2588"));
#endif
	CHECK_RC(auth(&s, "bob", T0 + PERIOD, "@otp+0", NULL), PAM_SUCCESS);
}

/* Stacks in which the module must not stand in for the password. */
static void
test_stacks(void)
{
	struct script s;

	memset(&s, 0, sizeof(s));
	/* pam_deny stands for a password that was wrong */
	CHECK(login_with(&s, "auth sufficient @M\nauth required pam_deny.so\n",
			 "", "gary", AUTH, T0, NULL) != PAM_SUCCESS);
	CHECK(login_with(&s, "auth sufficient @M\nauth required pam_deny.so\n",
			 "", "nobody", AUTH, T0, NULL) != PAM_SUCCESS);
	CHECK(login_with(&s,
			 "auth [success=done default=ignore] @M\n"
			 "auth required pam_deny.so\n",
			 "", "gary", AUTH, T0, NULL) != PAM_SUCCESS);
	write_conf("mfa_grace_until = 2100-01-01\n");
	CHECK(login_with(&s,
			 "auth [success=done default=ignore] @M\n"
			 "auth required pam_deny.so\n",
			 "", "bob", AUTH, T0, NULL) != PAM_SUCCESS);
	write_conf("");
	/* and after a password that was right, a wrong code still fails */
	CHECK(login_with(&s, "auth required pam_permit.so\nauth required @M\n",
			 "", "alice", AUTH, T0 + 900 * PERIOD, "000000",
			 NULL) != PAM_SUCCESS);
	run_cmd("%s --config %s mfa unlock alice >/dev/null", orgauthctl,
		conf_path);
}

/*
 * sshd with AuthenticationMethods password,keyboard-interactive: the code
 * is asked for only once SSH_AUTH_INFO_0 shows the password method passed.
 */
static void
test_ssh_after_password(struct script *s)
{
	const char *stack = "auth required pam_permit.so\nauth required @M\n";
	time_t t = T0 + 800 * PERIOD;

	/* the password method's run: no prompt, nothing counted */
	pam_env = NULL;
	CHECK_RC(login_with(s, stack, "ssh_after_password", "alice", AUTH, t,
			    "alice-password", NULL),
		 PAM_SUCCESS);
	CHECK(s->transcript[0] == '\0');
	pam_env = "SSH_AUTH_INFO_0=publickey ssh-ed25519 AAAAC3Nza\n";
	CHECK_RC(
	    login_with(s, stack, "ssh_after_password", "alice", AUTH, t, NULL),
	    PAM_SUCCESS);
	CHECK(s->transcript[0] == '\0');
	/* keyboard-interactive after the password: the code */
	pam_env = "SSH_AUTH_INFO_0=password\n";
	CHECK_RC(login_with(s, stack, "ssh_after_password", "alice", AUTH, t,
			    "000000", NULL),
		 PAM_AUTH_ERR);
	CHECK(has(s, "Verification code: "));
	CHECK_RC(login_with(s, stack, "ssh_after_password", "alice", AUTH, t,
			    "@otp+0", NULL),
		 PAM_SUCCESS);
	pam_env = "SSH_AUTH_INFO_0=publickey ssh-ed25519 AAAAC3Nza\npassword\n";
	CHECK_RC(login_with(s, stack, "ssh_after_password", "alice", AUTH,
			    t + PERIOD, "@otp+0", NULL),
		 PAM_SUCCESS);
	CHECK(has(s, "Verification code: "));
	/* a method name that merely starts with "password" is not it */
	pam_env = "SSH_AUTH_INFO_0=passwordless\n";
	CHECK_RC(login_with(s, stack, "ssh_after_password", "alice", AUTH,
			    t + 2 * PERIOD, NULL),
		 PAM_SUCCESS);
	CHECK(s->transcript[0] == '\0');
	pam_env = NULL;
	run_cmd("%s --config %s mfa unlock alice >/dev/null", orgauthctl,
		conf_path);
}

static void
test_fail_closed(struct script *s)
{
	char path[400], other[400];
	time_t t = T0 + 1000 * PERIOD;

	/* an unknown option */
	CHECK_RC(login_with(s, AUTH_LINE, "frobnicate", "gary", AUTH, t, NULL),
		 PAM_SERVICE_ERR);
	/* a missing configuration: even a user of no MFA org fails */
	snprintf(path, sizeof(path), "%s.moved", conf_path);
	CHECK(rename(conf_path, path) == 0);
	CHECK_RC(direct(s, "gary", AUTH, t, NULL), PAM_AUTHINFO_UNAVAIL);
	CHECK_RC(direct(s, "alice", ACCOUNT, t, NULL), PAM_AUTHINFO_UNAVAIL);
	CHECK(rename(path, conf_path) == 0);
	/*
	 * A configuration anyone may write: whoever writes it decides who
	 * needs MFA (mfa_grace_until, mfa_dir, host_organisation), so it is
	 * not trusted.
	 */
	CHECK(chmod(conf_path, 0666) == 0);
	CHECK_RC(direct(s, "gary", AUTH, t, NULL), PAM_AUTHINFO_UNAVAIL);
	CHECK_RC(direct(s, "alice", ACCOUNT, t, NULL), PAM_AUTHINFO_UNAVAIL);
	CHECK(chmod(conf_path, 0620) == 0);
	CHECK_RC(direct(s, "gary", AUTH, t, NULL), PAM_AUTHINFO_UNAVAIL);
	CHECK(chmod(conf_path, 0644) == 0);
	if (geteuid() == 0) {
		CHECK(chown(conf_path, 65534, (gid_t)-1) == 0);
		CHECK_RC(direct(s, "gary", AUTH, t, NULL),
			 PAM_AUTHINFO_UNAVAIL);
		CHECK(chown(conf_path, 0, (gid_t)-1) == 0);
	}
	/* a missing cache */
	snprintf(path, sizeof(path), "%s/cache", tmp);
	snprintf(other, sizeof(other), "%s/cache.moved", tmp);
	CHECK(rename(path, other) == 0);
	CHECK_RC(direct(s, "gary", AUTH, t, NULL), PAM_AUTHINFO_UNAVAIL);
	CHECK_RC(direct(s, "alice", ACCOUNT, t, NULL), PAM_AUTHINFO_UNAVAIL);
	CHECK(auth(s, "alice", t, "@otp+0", NULL) != PAM_SUCCESS);
	CHECK(rename(other, path) == 0);
	/* a conversation that gives no answer */
	CHECK_RC(auth(s, "alice", t, NULL), PAM_AUTH_ERR);
	/* the working case, to be sure the rest fails for its reason */
	CHECK_RC(auth(s, "alice", t, "@otp+0", NULL), PAM_SUCCESS);

	/* a record readable by others */
	snprintf(path, sizeof(path), "%s/alice.mfa", mfa_dir);
	CHECK(chmod(path, 0644) == 0);
	CHECK_RC(auth(s, "alice", t + PERIOD, "@otp+0", NULL),
		 PAM_AUTHINFO_UNAVAIL);
	CHECK(!has(s, "otpauth"));
	CHECK(chmod(path, 0600) == 0);
	/* a record that is a symlink */
	snprintf(other, sizeof(other), "%s/alice.real", tmp);
	CHECK(rename(path, other) == 0);
	CHECK(symlink(other, path) == 0);
	CHECK_RC(auth(s, "alice", t + PERIOD, "@otp+0", NULL),
		 PAM_AUTHINFO_UNAVAIL);
	CHECK(unlink(path) == 0);
	CHECK(rename(other, path) == 0);
	/* a corrupt record */
	snprintf(other, sizeof(other), "%s/alice.saved", tmp);
	CHECK(run_cmd("cp -p %s %s", path, other) == 0);
	CHECK(run_cmd("sed -i 's/^secret=..../secret=AAAA/' %s", path) == 0);
	CHECK_RC(auth(s, "alice", t + PERIOD, "@otp+0", NULL),
		 PAM_AUTHINFO_UNAVAIL);
	CHECK(run_cmd("head -c 40 %s > %s.cut && mv %s.cut %s && chmod 600 %s",
		      other, path, path, path, path) == 0);
	CHECK_RC(auth(s, "alice", t + PERIOD, "@otp+0", NULL),
		 PAM_AUTHINFO_UNAVAIL);
	CHECK(run_cmd("cp -p %s %s", other, path) == 0);
	/* a store folder others can read */
	CHECK(chmod(mfa_dir, 0755) == 0);
	CHECK_RC(auth(s, "alice", t + PERIOD, "@otp+0", NULL),
		 PAM_AUTHINFO_UNAVAIL);
	CHECK_RC(direct(s, "gary", AUTH, t, NULL), PAM_AUTHINFO_UNAVAIL);
	CHECK(chmod(mfa_dir, 0700) == 0);
	/* a host key readable by others */
	snprintf(path, sizeof(path), "%s/host.key", tmp);
	CHECK(chmod(path, 0640) == 0);
	CHECK_RC(auth(s, "alice", t + PERIOD, "@otp+0", NULL),
		 PAM_AUTHINFO_UNAVAIL);
	CHECK(chmod(path, 0600) == 0);
	/* all put back: works again, and no step was spent meanwhile */
	CHECK_RC(auth(s, "alice", t + PERIOD, "@otp+0", NULL), PAM_SUCCESS);
}

int
main(void)
{
	const char *top_builddir = getenv("top_builddir");
	char recovery[2][16];
	struct script s;

	if (top_builddir == NULL) {
		fprintf(stderr, "test_pam: run through make check\n");
		return 99;
	}
	if (geteuid() != 0) {
		fprintf(stderr,
			"test_pam: the store must be root's: skipped\n");
		return 77;
	}
	snprintf(tmp, sizeof(tmp), "%s/orgauth-pam.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmp) == NULL)
		broken("mkdtemp");
	snprintf(confdir, sizeof(confdir), "%s/pam.d", tmp);
	snprintf(conf_path, sizeof(conf_path), "%s/orgauth.conf", tmp);
	snprintf(mfa_dir, sizeof(mfa_dir), "%s/mfa", tmp);
	snprintf(module, sizeof(module), "%s/tests/.libs/pam_orgauth_clock.so",
		 top_builddir);
	snprintf(ldif, sizeof(ldif), "%s/examples/directory.ldif",
		 getenv("top_srcdir") ? getenv("top_srcdir") : ".");
	snprintf(orgauthctl, sizeof(orgauthctl), "%s/orgauthctl", top_builddir);
	if (mkdir(confdir, 0700) < 0)
		broken("mkdir");
	write_conf("");
	if (run_cmd("%s --config %s sync >/dev/null", orgauthctl, conf_path) !=
	    0)
		broken("orgauthctl sync of the sample directory");
	if (oath_init() != OATH_OK)
		broken("oath_init");

	test_account();
	test_not_covered();
	test_enrolment(&s, recovery);
	test_window(&s);
	test_lockout(&s);
	test_recovery(&s, recovery);
	test_concurrent(&s);
	n_recovery = 0; /* later enrolments need none */
	write_conf("");
	test_workforce_and_scope();
	test_hotp();
	test_qr();
	test_stacks();
	test_ssh_after_password(&s);
	test_fail_closed(&s);

	oath_done();
	run_cmd("rm -rf %s", tmp);
	if (failures > 0)
		fprintf(stderr, "test_pam: %d checks failed\n", failures);
	return failures > 0 ? 1 : 0;
}
