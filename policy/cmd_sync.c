/*
 * orgauthctl sync: directory -> validated model -> roles -> groups and
 * GIDs -> the cache file, replaced atomically.  A directory with problems
 * is not compiled: the old cache stays and the command exits 1.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "commands.h"
#include "compile.h"
#include "directory.h"
#include "log.h"

struct sync_ctx {
	unsigned problems;
};

static void
report_dir(void *ctx, const struct oa_origin *origin, const char *dn,
	   const char *message)
{
	struct sync_ctx *sc = ctx;

	sc->problems++;
	if (origin != NULL && origin->source != NULL && origin->line > 0)
		fprintf(stderr, "%s:%u: ", origin->source, origin->line);
	else if (origin != NULL && origin->source != NULL)
		fprintf(stderr, "%s: ", origin->source);
	if (dn != NULL)
		fprintf(stderr, "%s: ", dn);
	fprintf(stderr, "%s\n", message);
}

static void
report_compile(void *ctx, const char *message)
{
	struct sync_ctx *sc = ctx;

	sc->problems++;
	fprintf(stderr, "sync: %s\n", message);
}

/*
 * An organisation's Workforce category is fixed when it is created: one
 * that the current cache knows with the other category is refused unless
 * allowed.  Returns the number of changes refused.
 */
static unsigned
check_categories(const struct oa_directory *dir, const char *cache_path,
		 bool allow)
{
	struct oa_cache_map old;
	struct oa_cache_org o;
	enum oa_cache_error e;
	unsigned refused = 0;
	size_t i;

	e = oa_cache_open(&old, cache_path);
	if (e == OA_CACHE_ENOENT)
		return 0;
	if (e != OA_CACHE_OK) {
		fprintf(stderr,
			"sync: warning: the current cache cannot be read (%s): "
			"Workforce categories not compared\n",
			oa_cache_strerror(e));
		return 0;
	}
	for (i = 0; i < dir->n_orgs; i++) {
		const struct oa_org *org = &dir->orgs[i];
		char qname[OA_LOG_QUOTED_SIZE];

		if (!oa_cache_org_by_name(&old, org->name, &o) ||
		    o.workforce == org->workforce)
			continue;
		if (allow) {
			fprintf(stderr,
				"sync: organisation %s: Workforce category "
				"changed from %s to %s (allowed by "
				"--allow-category-change)\n",
				org->name, o.workforce ? "yes" : "no",
				org->workforce ? "yes" : "no");
			oa_log(LOG_NOTICE, "sync",
			       "event=category_change org=%s workforce=%s "
			       "outcome=allowed reason=override",
			       oa_log_quote(qname, sizeof(qname), org->name),
			       org->workforce ? "yes" : "no");
			continue;
		}
		fprintf(stderr,
			"sync: %s: organisation %s: Workforce category changed "
			"from %s to %s since the last sync; an organisation's "
			"category is fixed when it is created (pass "
			"--allow-category-change to accept the change)\n",
			org->dn, org->name, o.workforce ? "yes" : "no",
			org->workforce ? "yes" : "no");
		refused++;
	}
	oa_cache_close(&old);
	return refused;
}

/* The cache's folder, created (0755) when it is missing. */
static int
ensure_folder(const char *path)
{
	char buf[OA_CONF_PATH_LEN];
	const char *dir;

	snprintf(buf, sizeof(buf), "%s", path);
	dir = dirname(buf);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: orgauthctl sync [--allow-category-change]\n"
		"Compiles the directory into the role cache.\n"
		"exit status: 0 written, 1 problems found (cache unchanged), "
		"2 usage or I/O error\n");
}

int
oa_cmd_sync(struct oa_cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"allow-category-change", no_argument, NULL, 'A'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const struct oa_conf *conf = &cli->conf;
	struct sync_ctx sc = {0};
	struct oa_directory *dir = NULL;
	struct oa_user_roles *roles = NULL;
	struct oa_compiled compiled;
	unsigned char *buf = NULL;
	bool allow = false;
	char err[1024];
	size_t len;
	int c, n, lock = -1, ret = OA_EXIT_USAGE;

	memset(&compiled, 0, sizeof(compiled));
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'A':
			allow = true;
			break;
		case 'h':
			usage(stdout);
			return OA_EXIT_OK;
		default:
			usage(stderr);
			return OA_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return OA_EXIT_USAGE;
	}
	if (oa_cli_load_conf_trusted(cli) < 0)
		return OA_EXIT_USAGE;

	/* one sync at a time: the category check reads the file replaced */
	if (ensure_folder(conf->cache_file) < 0 ||
	    (lock = oa_cache_lock(conf->cache_file)) < 0) {
		oa_cli_error("sync: cannot lock %s.lock: %s", conf->cache_file,
			     strerror(errno));
		goto out;
	}
	dir = oa_dir_new();
	if (dir == NULL) {
		oa_cli_error("sync: out of memory");
		goto out;
	}
	n = oa_dir_load(dir, conf, report_dir, &sc);
	if (n < 0) {
		oa_cli_error("sync: the directory could not be read; the cache "
			     "was not changed");
		goto out;
	}
	if (n > 0 || sc.problems > 0) {
		oa_cli_error("sync: %u problem(s) in the directory; the cache "
			     "was not changed",
			     sc.problems > 0 ? sc.problems : (unsigned)n);
		ret = OA_EXIT_PROBLEM;
		goto out;
	}
	roles = oa_derive_roles(dir);
	if (roles == NULL) {
		oa_cli_error("sync: out of memory");
		goto out;
	}
	n = oa_compile(dir, roles, conf, (int64_t)time(NULL), &compiled,
		       report_compile, &sc);
	if (n < 0) {
		oa_cli_error("sync: out of memory");
		goto out;
	}
	if (n > 0 || check_categories(dir, conf->cache_file, allow) > 0) {
		oa_cli_error("sync: problems found; the cache was not changed");
		ret = OA_EXIT_PROBLEM;
		goto out;
	}
	if (oa_cache_serialize(&compiled.model, &buf, &len) < 0) {
		oa_cli_error("sync: cannot lay out the cache: %s",
			     strerror(errno));
		goto out;
	}
	if (oa_cache_replace(conf->cache_file, buf, len, err, sizeof(err)) <
	    0) {
		oa_cli_error("sync: %s; the cache was not changed", err);
		goto out;
	}
	printf("sync: %zu organisations, %zu users, %zu groups written to "
	       "%s\n",
	       compiled.model.n_orgs, compiled.model.n_users,
	       compiled.model.n_groups, conf->cache_file);
	ret = OA_EXIT_OK;
out:
	free(buf);
	oa_compiled_free(&compiled);
	if (roles != NULL)
		oa_roles_free(roles, dir->n_users);
	if (dir != NULL)
		oa_dir_free(dir);
	if (lock >= 0)
		close(lock);
	return ret;
}
