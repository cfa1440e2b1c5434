/*
 * orgauthctl mfa: the administrator's side of the MFA store.
 *
 *   mfa status [USER]   enrolment, recovery codes left, failures, lockout
 *   mfa enroll USER     a new secret for hand-over (URI, QR code where the
 *                       terminal shows one, recovery codes)
 *   mfa reset USER      forget the secret (the user enrols again)
 *   mfa unlock USER     clear the failure count and any lockout
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <syslog.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cache.h"
#include "commands.h"
#include "log.h"
#include "mfa_qr.h"
#include "mfa_store.h"

static void
mfa_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: orgauthctl [--config FILE] mfa status [USER]\n"
	    "       orgauthctl [--config FILE] mfa enroll [--replace] USER\n"
	    "       orgauthctl [--config FILE] mfa reset USER\n"
	    "       orgauthctl [--config FILE] mfa unlock USER\n");
}

static void
format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, size, "%" PRId64, t);
}

static int
store_error(const char *what, const char *user, enum oa_mfa_error err)
{
	if (err == OA_MFA_ENOENT) {
		oa_cli_error("mfa %s: %s is not enrolled", what, user);
		return OA_EXIT_PROBLEM;
	}
	if (err == OA_MFA_EEXIST) {
		oa_cli_error("mfa %s: %s is enrolled already (mfa reset "
			     "first, or --replace)",
			     what, user);
		return OA_EXIT_PROBLEM;
	}
	oa_cli_error("mfa %s: %s: %s", what, user != NULL ? user : "store",
		     oa_mfa_strerror(err));
	return OA_EXIT_USAGE;
}

/* An audit line for every change an administrator makes to the store. */
static void
audit(const char *op, const char *user, int status)
{
	char u[OA_LOG_QUOTED_SIZE];

	oa_log(LOG_NOTICE, "orgauthctl", "op=mfa-%s user=%s outcome=%s uid=%u",
	       op, oa_log_quote(u, sizeof(u), user),
	       status == OA_EXIT_OK ? "success" : "failure",
	       (unsigned)getuid());
}

struct status_ctx {
	struct oa_mfa_store *store;
	time_t now;
	unsigned shown;
	int worst;
};

static int
show_user(void *ctx, const char *user)
{
	struct status_ctx *sc = ctx;
	struct oa_mfa_record rec;
	enum oa_mfa_error err;
	char when[64], until[64];

	if (oa_mfa_record_init(&rec) < 0)
		return -1;
	err = oa_mfa_read(sc->store, user, &rec);
	if (err != OA_MFA_OK) {
		/* An unusable record is shown as such, not skipped. */
		printf("%s: %s\n", user,
		       err == OA_MFA_ENOENT ? "not enrolled"
					    : oa_mfa_strerror(err));
		if (err != OA_MFA_ENOENT && sc->worst < OA_EXIT_USAGE)
			sc->worst = OA_EXIT_USAGE;
		else if (sc->worst < OA_EXIT_PROBLEM)
			sc->worst = OA_EXIT_PROBLEM;
		goto out;
	}
	format_time(rec.enrolled_at, when, sizeof(when));
	if (rec.locked_until > (int64_t)sc->now)
		format_time(rec.locked_until, until, sizeof(until));
	printf("%s: enrolled %s, %s %u digits, recovery codes left %u/%u, "
	       "recent failures %u, %s%s\n",
	       user, when, rec.kind == OA_OTP_HOTP ? "hotp" : "totp",
	       rec.digits, oa_mfa_recovery_left(&rec), rec.n_recovery,
	       rec.failures,
	       rec.locked_until > (int64_t)sc->now ? "locked until "
						   : "not locked",
	       rec.locked_until > (int64_t)sc->now ? until : "");
out:
	sc->shown++;
	oa_mfa_record_free(&rec);
	return 0;
}

static int
cmd_status(struct oa_mfa_store *store, const char *user)
{
	struct status_ctx sc = {store, time(NULL), 0, OA_EXIT_OK};

	if (user != NULL) {
		show_user(&sc, user);
		return sc.worst;
	}
	if (oa_mfa_each_user(store, show_user, &sc) != 0) {
		oa_cli_error("mfa status: cannot list the store");
		return OA_EXIT_USAGE;
	}
	if (sc.shown == 0)
		printf("no user is enrolled\n");
	return sc.worst;
}

/* A QR code only where it can be seen: a terminal that speaks UTF-8. */
static bool
terminal_shows_qr(void)
{
	const char *codeset;

	if (!isatty(STDOUT_FILENO) || setlocale(LC_CTYPE, "") == NULL)
		return false;
	codeset = nl_langinfo(CODESET);
	return codeset != NULL && strcmp(codeset, "UTF-8") == 0;
}

static void
print_qr(const char *uri)
{
	char *qr = sodium_malloc(OA_MFA_QR_SIZE);

	if (qr != NULL && oa_mfa_qr(uri, qr, OA_MFA_QR_SIZE) == 0)
		fputs(qr, stdout);
	sodium_free(qr);
}

/*
 * pam_orgauth never takes a code from a user the directory does not know
 * (it leaves them to other modules, or refuses them), so a second factor
 * handed over for one would protect nothing.  Without a usable cache (a host
 * not synced yet) this cannot be told, and enrolment goes on with a warning.
 */
static bool
enrol_allowed(const struct oa_cli *cli, const char *user)
{
	struct oa_cache_map map;
	struct oa_cache_user u;
	enum oa_cache_error e;
	bool known;

	e = oa_cache_open(&map, cli->conf.cache_file);
	if (e != OA_CACHE_OK) {
		fprintf(stderr,
			"orgauthctl: warning: mfa enroll: cannot check that "
			"%s is in the directory (%s: %s)\n",
			user, cli->conf.cache_file, oa_cache_strerror(e));
		return true;
	}
	known = oa_cache_user_by_name(&map, user, &u);
	oa_cache_close(&map);
	if (!known)
		oa_cli_error("mfa enroll: %s is not in the directory (role "
			     "cache %s): pam_orgauth would never ask for this "
			     "code; add the user and run orgauthctl sync first",
			     user, cli->conf.cache_file);
	return known;
}

static int
cmd_enroll(struct oa_cli *cli, struct oa_mfa_store *store, const char *user,
	   bool replace, bool qr)
{
	struct oa_mfa_record rec;
	struct oa_mfa_codes codes = {0, NULL};
	enum oa_mfa_error err;
	char *uri = NULL;
	char key[64];
	unsigned i;
	int ret = OA_EXIT_USAGE;

	if (!enrol_allowed(cli, user))
		return OA_EXIT_PROBLEM;
	if (oa_mfa_record_init(&rec) < 0)
		return OA_EXIT_USAGE;
	uri = sodium_malloc(OA_MFA_URI_LEN);
	if (uri == NULL)
		goto out;
	oa_mfa_generate(&cli->conf, &rec);
	err = oa_mfa_recovery_codes(&cli->conf, &rec, &codes);
	if (err == OA_MFA_OK)
		err = oa_mfa_enrol(store, user, &rec, replace);
	if (err != OA_MFA_OK) {
		ret = store_error("enroll", user, err);
		goto out;
	}
	if (oa_mfa_uri(&cli->conf, user, &rec, uri, OA_MFA_URI_LEN) < 0 ||
	    oa_mfa_secret_base32(&rec, key, sizeof(key)) < 0)
		goto out;
	if (qr)
		print_qr(uri);
	printf("user: %s\nuri: %s\nkey: %s\n", user, uri, key);
	sodium_memzero(key, sizeof(key));
	for (i = 0; i < codes.n; i++)
		printf("recovery: %s\n", codes.code[i]);
	printf("Hand these to the user over a trusted channel; they are not "
	       "shown again.\n");
	ret = OA_EXIT_OK;
out:
	sodium_free(uri);
	oa_mfa_codes_free(&codes);
	oa_mfa_record_free(&rec);
	return ret;
}

int
oa_cmd_mfa(struct oa_cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"replace", no_argument, NULL, 'r'},
	    {"qr", no_argument, NULL, 'q'},
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct oa_mfa_store *store = NULL;
	enum oa_mfa_error err;
	const char *action, *user = NULL;
	bool replace = false, qr = false;
	int c, ret = OA_EXIT_USAGE;

	/* Options anywhere after "mfa", as the other commands take them. */
	while ((c = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		switch (c) {
		case 'r':
			replace = true;
			break;
		case 'q':
			qr = true;
			break;
		case 'c':
			cli->config_path = optarg;
			break;
		case 'h':
			mfa_usage(stdout);
			return OA_EXIT_OK;
		default:
			mfa_usage(stderr);
			return OA_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		mfa_usage(stderr);
		return OA_EXIT_USAGE;
	}
	action = argv[optind++];
	if (optind < argc)
		user = argv[optind++];
	if (optind < argc ||
	    ((replace || qr) && strcmp(action, "enroll") != 0) ||
	    (user == NULL && strcmp(action, "status") != 0)) {
		mfa_usage(stderr);
		return OA_EXIT_USAGE;
	}
	if (user != NULL && !oa_mfa_valid_user(user)) {
		oa_cli_error("mfa: '%s' is not a valid user name", user);
		return OA_EXIT_USAGE;
	}
	if (strcmp(action, "status") != 0 && strcmp(action, "enroll") != 0 &&
	    strcmp(action, "reset") != 0 && strcmp(action, "unlock") != 0) {
		oa_cli_error("mfa: unknown action '%s'", action);
		mfa_usage(stderr);
		return OA_EXIT_USAGE;
	}
	if (qr && !oa_mfa_qr_available()) {
		oa_cli_error("mfa enroll --qr: built without libqrencode");
		return OA_EXIT_USAGE;
	}
	if (!qr && strcmp(action, "enroll") == 0)
		qr = oa_mfa_qr_available() && terminal_shows_qr();
	if (oa_cli_load_conf_trusted(cli) < 0)
		return OA_EXIT_USAGE;
	err = oa_mfa_store_open(&cli->conf, &store);
	if (err != OA_MFA_OK) {
		oa_cli_error("mfa: store %s (key %s): %s", cli->conf.mfa_dir,
			     cli->conf.host_key_file, oa_mfa_strerror(err));
		return OA_EXIT_USAGE;
	}
	if (strcmp(action, "status") == 0) {
		ret = cmd_status(store, user);
	} else if (strcmp(action, "enroll") == 0) {
		ret = cmd_enroll(cli, store, user, replace, qr);
		audit(replace ? "enroll-replace" : "enroll", user, ret);
	} else if (strcmp(action, "reset") == 0) {
		err = oa_mfa_remove(store, user);
		ret = err == OA_MFA_OK ? OA_EXIT_OK
				       : store_error("reset", user, err);
		if (ret == OA_EXIT_OK)
			printf("%s: MFA reset; the user enrols again\n", user);
		audit("reset", user, ret);
	} else {
		err = oa_mfa_unlock(store, user);
		ret = err == OA_MFA_OK ? OA_EXIT_OK
				       : store_error("unlock", user, err);
		if (ret == OA_EXIT_OK)
			printf("%s: failures cleared, not locked\n", user);
		audit("unlock", user, ret);
	}
	oa_mfa_store_close(store);
	return ret;
}
