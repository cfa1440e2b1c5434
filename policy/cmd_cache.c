/*
 * orgauthctl cache: what the role cache holds, when it was built, and
 * whether it is sound (the reader's checks at open, then every entry found
 * again through the hash indexes).
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "commands.h"

static const char *
kind_name(enum oa_group_kind kind)
{
	switch (kind) {
	case OA_GROUP_ROLE:
		return "role";
	case OA_GROUP_PROJECT:
		return "project";
	case OA_GROUP_DATASET:
		return "dataset";
	}
	return "?";
}

/* Every entry is found again through its indexes. */
static unsigned
verify_indexes(const struct oa_cache_map *map)
{
	struct oa_cache_user u, found_u;
	struct oa_cache_group g, found_g;
	struct oa_cache_org o, found_o;
	unsigned bad = 0;
	uint32_t i;

	for (i = 0; oa_cache_user_at(map, i, &u); i++) {
		if (!oa_cache_user_by_name(map, u.name, &found_u) ||
		    found_u.index != i ||
		    !oa_cache_user_by_uid(map, u.uid, &found_u) ||
		    found_u.index != i) {
			oa_cli_error("cache: user %s not found by its indexes",
				     u.name);
			bad++;
		}
	}
	for (i = 0; oa_cache_group_at(map, i, &g); i++) {
		if (!oa_cache_group_by_name(map, g.name, &found_g) ||
		    found_g.index != i ||
		    !oa_cache_group_by_gid(map, g.gid, &found_g) ||
		    found_g.index != i) {
			oa_cli_error("cache: group %s not found by its indexes",
				     g.name);
			bad++;
		}
	}
	for (i = 0; oa_cache_org_at(map, i, &o); i++) {
		if (!oa_cache_org_by_name(map, o.name, &found_o) ||
		    found_o.index != i) {
			oa_cli_error("cache: organisation %s not found by its "
				     "index",
				     o.name);
			bad++;
		}
	}
	return bad;
}

static void
show_summary(const struct oa_cache_map *map, const char *path)
{
	unsigned kinds[3] = {0, 0, 0};
	time_t built = (time_t)oa_cache_built_at(map);
	struct oa_cache_group g;
	char when[64];
	struct tm tm;
	uint32_t i;

	for (i = 0; oa_cache_group_at(map, i, &g); i++) {
		if ((unsigned)g.kind < 3)
			kinds[g.kind]++;
	}
	if (gmtime_r(&built, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(when, sizeof(when), "%" PRId64,
			 oa_cache_built_at(map));
	printf("cache:         %s\n", path);
	printf("built:         %s\n", when);
	printf("size:          %zu bytes\n", map->size);
	printf("organisations: %u\n", oa_cache_n_orgs(map));
	printf("users:         %u\n", oa_cache_n_users(map));
	printf("groups:        %u (%u role, %u project, %u dataset)\n",
	       oa_cache_n_groups(map), kinds[0], kinds[1], kinds[2]);
}

static void
show_users(const struct oa_cache_map *map)
{
	struct oa_cache_user u;
	struct oa_cache_role r;
	struct oa_cache_group g;
	uint32_t i, j;

	for (i = 0; oa_cache_user_at(map, i, &u); i++) {
		printf("%s uid=%u gid=%u roles=", u.name, u.uid, u.gid);
		for (j = 0; oa_cache_user_role(map, &u, j, &r); j++)
			printf("%s%s:%s", j > 0 ? "," : "", r.org.name,
			       oa_role_name(r.role));
		printf(" groups=");
		for (j = 0; oa_cache_user_group(map, &u, j, &g); j++)
			printf("%s%s", j > 0 ? "," : "", g.name);
		printf("\n");
	}
}

static void
show_groups(const struct oa_cache_map *map)
{
	struct oa_cache_group g;
	uint32_t i, j;

	for (i = 0; oa_cache_group_at(map, i, &g); i++) {
		printf("%s gid=%u %s org=%s", g.name, g.gid, kind_name(g.kind),
		       g.org);
		if (g.entity != NULL)
			printf(" %s=%s", kind_name(g.kind), g.entity);
		printf(" members=");
		for (j = 0; j < g.n_members; j++)
			printf("%s%s", j > 0 ? "," : "",
			       oa_cache_group_member(map, &g, j));
		printf("\n");
	}
}

static void
show_orgs(const struct oa_cache_map *map)
{
	struct oa_cache_org o;
	uint32_t i;

	for (i = 0; oa_cache_org_at(map, i, &o); i++)
		printf("%s workforce=%s mfa_required=%s\n", o.name,
		       o.workforce ? "yes" : "no",
		       o.mfa_required ? "yes" : "no");
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: orgauthctl cache [--users] [--groups] [--orgs]\n"
		"Shows and verifies the role cache that sync wrote.\n"
		"exit status: 0 sound, 1 missing or damaged, 2 usage error\n");
}

int
oa_cmd_cache(struct oa_cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"users", no_argument, NULL, 'u'},
	    {"groups", no_argument, NULL, 'g'},
	    {"orgs", no_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool users = false, groups = false, orgs = false;
	struct oa_cache_map map;
	enum oa_cache_error e;
	int c, ret = OA_EXIT_USAGE;

	while ((c = getopt_long(argc, argv, "ugoh", options, NULL)) != -1) {
		switch (c) {
		case 'u':
			users = true;
			break;
		case 'g':
			groups = true;
			break;
		case 'o':
			orgs = true;
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
	if (oa_cli_load_conf(cli) < 0)
		return OA_EXIT_USAGE;
	e = oa_cache_open(&map, cli->conf.cache_file);
	if (e != OA_CACHE_OK) {
		oa_cli_error("cache %s: %s", cli->conf.cache_file,
			     oa_cache_strerror(e));
		return OA_EXIT_PROBLEM;
	}
	if (users)
		show_users(&map);
	if (groups)
		show_groups(&map);
	if (orgs)
		show_orgs(&map);
	if (!users && !groups && !orgs)
		show_summary(&map, cli->conf.cache_file);
	ret = OA_EXIT_OK;
	if (verify_indexes(&map) > 0)
		ret = OA_EXIT_PROBLEM;
	else if (!users && !groups && !orgs)
		printf("verified:      yes\n");
	oa_cache_close(&map);
	return ret;
}
