/*
 * The cache compiler, writer and reader together: a hand-made directory is
 * compiled, written, mapped and read back; damaged copies are refused; the
 * superseded mark reaches a reader's mapping; group name and GID problems
 * are reported with both names.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "cache_format.h"
#include "compile.h"

static int failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			failures++;                                            \
		}                                                              \
	} while (0)

/* orgs */
enum { ACME, APOLLO, N_ORGS };
/* users, by name */
enum { ALICE, BOB, WALT, N_USERS };

static size_t acme_admins[] = {ALICE};
static size_t acme_members[] = {BOB};
static size_t apollo_admins[] = {WALT};

static struct oa_org orgs[N_ORGS] = {
    {"o=acme", "acme", false, false, acme_admins, 1, acme_members, 1},
    {"o=apollo", "apollo", true, true, apollo_admins, 1, NULL, 0},
};

static struct oa_user users[N_USERS] = {
    {"uid=alice", "alice", 10001, 10001, "Alice A", "/home/alice", "/bin/bash",
     ACME, OA_ROLE_ADMIN},
    {"uid=bob", "bob", 10002, 10002, "", "/home/bob", "/bin/sh", ACME,
     OA_ROLE_MEMBER},
    {"uid=walt", "walt", 10003, 10003, "Walt W", "/home/walt", "/bin/bash",
     APOLLO, OA_ROLE_ADMIN},
};

static struct oa_membership rocket_members[] = {
    {BOB, "annotator"},
    {WALT, "annotator"},
    {WALT, "reviewer"},
};
static struct oa_membership imgs_members[] = {{ALICE, "user"}};

static struct oa_entity entities[] = {
    {OA_ENTITY_PROJECT, "cn=rocket", "rocket", ACME, rocket_members, 3},
    {OA_ENTITY_DATASET, "cn=imgs", "imgs", ACME, imgs_members, 1},
};

static struct oa_directory dir = {orgs,	    N_ORGS, users, N_USERS,
				  entities, 2,	    NULL};

static size_t walt_via[] = {0};
static struct oa_role alice_roles[] = {{ACME, OA_ROLE_ADMIN, NULL, 0}};
static struct oa_role bob_roles[] = {{ACME, OA_ROLE_MEMBER, NULL, 0}};
static struct oa_role walt_roles[] = {
    {ACME, OA_ROLE_WORKFORCE, walt_via, 1},
    {APOLLO, OA_ROLE_ADMIN, NULL, 0},
};
static struct oa_user_roles roles[N_USERS] = {
    {alice_roles, 1},
    {bob_roles, 1},
    {walt_roles, 2},
};

static char problems[4096];

static void
collect(void *ctx, const char *message)
{
	(void)ctx;
	strncat(problems, message, sizeof(problems) - strlen(problems) - 2);
	strcat(problems, "\n");
}

static int
build(const struct oa_conf *conf, unsigned char **buf, size_t *len)
{
	struct oa_compiled c;
	int n;

	problems[0] = '\0';
	n = oa_compile(&dir, roles, conf, 1700000000, &c, collect, NULL);
	if (n == 0 && oa_cache_serialize(&c.model, buf, len) < 0)
		n = -1;
	oa_compiled_free(&c);
	return n;
}

static void
check_group(const struct oa_cache_map *map, const struct oa_conf *conf,
	    const char *name, const char *members)
{
	struct oa_cache_group g, byid;
	char list[256] = "";
	uint32_t i;

	if (!oa_cache_group_by_name(map, name, &g)) {
		fprintf(stderr, "group %s missing\n", name);
		failures++;
		return;
	}
	CHECK(g.gid == oa_group_gid(name, conf->gid_min, conf->gid_max));
	CHECK(g.gid >= conf->gid_min && g.gid <= conf->gid_max);
	CHECK(oa_cache_group_by_gid(map, g.gid, &byid));
	CHECK(strcmp(byid.name, name) == 0);
	for (i = 0; i < g.n_members; i++) {
		if (i > 0)
			strcat(list, ",");
		strcat(list, oa_cache_group_member(map, &g, i));
	}
	CHECK(oa_cache_group_member(map, &g, g.n_members) == NULL);
	if (strcmp(list, members) != 0) {
		fprintf(stderr, "group %s: members [%s], expected [%s]\n", name,
			list, members);
		failures++;
	}
}

static void
check_contents(const struct oa_cache_map *map, const struct oa_conf *conf)
{
	struct oa_cache_user u;
	struct oa_cache_group g;
	struct oa_cache_org o;
	struct oa_cache_role r;

	CHECK(oa_cache_built_at(map) == 1700000000);
	CHECK(oa_cache_n_users(map) == 3);
	CHECK(oa_cache_n_groups(map) == 6);
	CHECK(oa_cache_n_orgs(map) == 2);
	CHECK(oa_cache_user_by_name(map, "walt", &u));
	CHECK(u.uid == 10003 && u.gid == 10003);
	CHECK(strcmp(u.gecos, "Walt W") == 0);
	CHECK(strcmp(u.home, "/home/walt") == 0);
	CHECK(strcmp(u.shell, "/bin/bash") == 0);
	CHECK(oa_cache_user_n_groups(map, &u) == 3);
	CHECK(oa_cache_user_group(map, &u, 0, &g) &&
	      strcmp(g.name, "acme-proj-rocket") == 0 &&
	      g.kind == OA_GROUP_PROJECT && strcmp(g.entity, "rocket") == 0 &&
	      strcmp(g.org, "acme") == 0);
	CHECK(oa_cache_user_group(map, &u, 1, &g) &&
	      strcmp(g.name, "acme-workforce") == 0 &&
	      g.kind == OA_GROUP_ROLE && g.entity == NULL);
	CHECK(oa_cache_user_group_gid(map, &u, 2) ==
	      oa_group_gid("apollo-admin", conf->gid_min, conf->gid_max));
	CHECK(!oa_cache_user_group(map, &u, 3, &g));
	CHECK(oa_cache_user_n_roles(map, &u) == 2);
	CHECK(oa_cache_user_role(map, &u, 0, &r) &&
	      strcmp(r.org.name, "acme") == 0 && r.role == OA_ROLE_WORKFORCE);
	CHECK(oa_cache_user_role(map, &u, 1, &r) &&
	      strcmp(r.org.name, "apollo") == 0 && r.role == OA_ROLE_ADMIN &&
	      r.org.workforce && r.org.mfa_required);
	CHECK(oa_cache_user_by_uid(map, 10002, &u) &&
	      strcmp(u.name, "bob") == 0 && u.gecos[0] == '\0');
	CHECK(oa_cache_user_at(map, 0, &u) && strcmp(u.name, "alice") == 0);
	CHECK(!oa_cache_user_at(map, 3, &u));
	CHECK(!oa_cache_user_by_name(map, "mallory", &u));
	CHECK(!oa_cache_user_by_name(map, "", &u));
	CHECK(!oa_cache_user_by_uid(map, 0, &u));
	CHECK(oa_cache_org_by_name(map, "acme", &o) && !o.workforce &&
	      !o.mfa_required);
	CHECK(!oa_cache_org_by_name(map, "nope", &o));
	CHECK(!oa_cache_group_by_gid(map, 10001, &g));
	check_group(map, conf, "acme-admin", "alice");
	check_group(map, conf, "acme-member", "bob");
	check_group(map, conf, "acme-workforce", "walt");
	check_group(map, conf, "apollo-admin", "walt");
	check_group(map, conf, "acme-proj-rocket", "bob,walt");
	check_group(map, conf, "acme-data-imgs", "alice");
	CHECK(!oa_cache_group_by_name(map, "apollo-member", &g));
}

static int
write_file(const char *path, const unsigned char *data, size_t len)
{
	FILE *fp = fopen(path, "w");
	int ret = 0;

	if (fp == NULL)
		return -1;
	if (len > 0 && fwrite(data, 1, len, fp) != len)
		ret = -1;
	if (fclose(fp) != 0)
		ret = -1;
	return ret;
}

/* Damaged copies: every truncation and a flipped bit in every byte. */
static void
check_damage(const char *dirpath, const unsigned char *buf, size_t len)
{
	char path[4096];
	unsigned char *copy = malloc(len);
	struct oa_cache_map map;
	size_t i;

	snprintf(path, sizeof(path), "%s/damaged", dirpath);
	if (copy == NULL) {
		failures++;
		return;
	}
	for (i = 0; i < len; i++) {
		if (write_file(path, buf, i) < 0) {
			failures++;
			break;
		}
		if (oa_cache_open(&map, path) == OA_CACHE_OK) {
			fprintf(stderr, "truncated at %zu: accepted\n", i);
			failures++;
			oa_cache_close(&map);
		}
	}
	for (i = 0; i < len; i++) {
		bool in_flags =
		    i >= OA_CF_FLAGS_OFFSET && i < OA_CF_FLAGS_OFFSET + 8;

		memcpy(copy, buf, len);
		copy[i] ^= (unsigned char)(1u << (i % 8));
		if (write_file(path, copy, len) < 0) {
			failures++;
			break;
		}
		/* flags and their padding are outside the checksum */
		if (oa_cache_open(&map, path) == OA_CACHE_OK) {
			if (!in_flags) {
				fprintf(stderr, "bit flip at %zu: accepted\n",
					i);
				failures++;
			}
			oa_cache_close(&map);
		} else if (in_flags) {
			fprintf(stderr, "flag flip at %zu: refused\n", i);
			failures++;
		}
	}
	unlink(path);
	free(copy);
}

/* Flips bit `bit` of the 8-byte word `word` of the summed region. */
static void
flip_word_bit(unsigned char *summed, size_t word, unsigned bit)
{
	uint64_t w;

	memcpy(&w, summed + 8 * word, sizeof(w));
	w ^= (uint64_t)1 << bit;
	memcpy(summed + 8 * word, &w, sizeof(w));
}

/*
 * The same bit flipped in two words.  The first checksum (a word-wise
 * FNV-1a) missed every pair of flipped top bits, since a multiply carries
 * differences upwards only: the damage test saw a GID of 2000000001 served
 * as 4147483649.  Checked in memory for nearby words and every bit, and for
 * the top bit in every pair of words; then once through a file.
 */
static void
check_flip_pairs(const char *dirpath, const unsigned char *buf, size_t len)
{
	size_t summed_len = len - OA_CF_SUMMED_FROM;
	size_t n_words = summed_len / 8, i, j;
	unsigned char *copy = malloc(len), *summed;
	uint64_t good = oa_cf_checksum(buf + OA_CF_SUMMED_FROM, summed_len);
	struct oa_cache_map map;
	char path[4096];
	unsigned bit;

	if (copy == NULL) {
		failures++;
		return;
	}
	summed = copy + OA_CF_SUMMED_FROM;
	for (i = 0; i < n_words; i++) {
		for (j = i + 1; j < n_words; j++) {
			for (bit = 0; bit < 64; bit++) {
				if (j - i > 4 && bit != 63)
					continue;
				memcpy(copy, buf, len);
				flip_word_bit(summed, i, bit);
				flip_word_bit(summed, j, bit);
				if (oa_cf_checksum(summed, summed_len) ==
				    good) {
					fprintf(stderr,
						"bit %u of words %zu and %zu: "
						"same checksum\n",
						bit, i, j);
					failures++;
				}
			}
		}
	}
	memcpy(copy, buf, len);
	flip_word_bit(summed, 0, 63);
	flip_word_bit(summed, 1, 63);
	snprintf(path, sizeof(path), "%s/damaged", dirpath);
	CHECK(write_file(path, copy, len) == 0);
	if (oa_cache_open(&map, path) == OA_CACHE_OK) {
		fprintf(stderr, "two top-bit flips: accepted\n");
		failures++;
		oa_cache_close(&map);
	}
	unlink(path);
	free(copy);
}

static void
check_problems(void)
{
	struct oa_conf conf;
	unsigned char *buf = NULL;
	size_t len;

	/* a one-GID range: every pair of groups collides */
	oa_conf_defaults(&conf);
	conf.gid_min = conf.gid_max = 3000000;
	CHECK(build(&conf, &buf, &len) > 0);
	CHECK(strstr(problems, "acme-admin (role admin of organisation "
			       "acme) and acme-data-imgs") != NULL);
	/* the range holding a user's primary GID */
	oa_conf_defaults(&conf);
	conf.gid_min = conf.gid_max = 10002;
	CHECK(build(&conf, &buf, &len) > 0);
	CHECK(strstr(problems, "primary GID of user bob") != NULL);
	/* two templates making one name */
	oa_conf_defaults(&conf);
	snprintf(conf.project_group_template,
		 sizeof(conf.project_group_template), "%%o-%%n");
	snprintf(conf.dataset_group_template,
		 sizeof(conf.dataset_group_template), "acme-rocket");
	CHECK(build(&conf, &buf, &len) > 0);
	CHECK(strstr(problems, "project rocket of organisation acme and "
			       "dataset imgs of organisation acme both make "
			       "the group acme-rocket") != NULL);
	/* an invalid template and an invalid result */
	oa_conf_defaults(&conf);
	snprintf(conf.role_group_template, sizeof(conf.role_group_template),
		 "%%x-%%r");
	CHECK(build(&conf, &buf, &len) > 0);
	CHECK(strstr(problems, "role admin of organisation acme, from "
			       "template '%x-%r'") != NULL);
	oa_conf_defaults(&conf);
	snprintf(conf.role_group_template, sizeof(conf.role_group_template),
		 "%%o role %%r");
	CHECK(build(&conf, &buf, &len) > 0);
	free(buf);
}

int
main(void)
{
	char tmpl[] = "/tmp/orgauth-test-cache.XXXXXX";
	char path[256];
	struct oa_conf conf;
	struct oa_cache_map first, second;
	unsigned char *buf = NULL, *buf2 = NULL;
	size_t len, len2;
	char err[512];
	char *tmp = mkdtemp(tmpl);
	struct stat st;

	if (tmp == NULL)
		return 99;
	snprintf(path, sizeof(path), "%s/cache", tmp);
	oa_conf_defaults(&conf);
	if (build(&conf, &buf, &len) != 0) {
		fprintf(stderr, "compile failed:\n%s", problems);
		return 1;
	}
	CHECK(oa_cache_open(&first, path) == OA_CACHE_ENOENT);
	CHECK(oa_cache_replace(path, buf, len, err, sizeof(err)) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644);
	CHECK(oa_cache_open(&first, path) == OA_CACHE_OK);
	check_contents(&first, &conf);
	CHECK(!oa_cache_superseded(&first));

	/* the same input gives the same bytes */
	CHECK(build(&conf, &buf2, &len2) == 0);
	CHECK(len2 == len && memcmp(buf, buf2, len) == 0);

	/* replacing marks the mapped file; the new one is not marked */
	CHECK(oa_cache_replace(path, buf2, len2, err, sizeof(err)) == 0);
	CHECK(oa_cache_superseded(&first));
	check_contents(&first, &conf);
	CHECK(oa_cache_open(&second, path) == OA_CACHE_OK);
	CHECK(!oa_cache_superseded(&second));
	CHECK(second.ino != first.ino);
	check_contents(&second, &conf);
	oa_cache_close(&first);
	oa_cache_close(&second);

	/* group- or world-writable files are refused */
	CHECK(chmod(path, 0664) == 0);
	CHECK(oa_cache_open(&first, path) == OA_CACHE_EPERM);
	CHECK(chmod(path, 0644) == 0);

	check_damage(tmp, buf, len);
	check_flip_pairs(tmp, buf, len);
	check_problems();

	free(buf);
	free(buf2);
	unlink(path);
	rmdir(tmp);
	if (failures > 0)
		fprintf(stderr, "%d checks failed\n", failures);
	return failures > 0 ? 1 : 0;
}
