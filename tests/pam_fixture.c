/*
 * pam_fixture CONF: writes the role cache of the sample organisations
 * (as in examples/directory.ldif: acme requires MFA; labelforce is a
 * Workforce organisation whose walt is on acme's project apollo and wendy
 * on acme's dataset faces; globex requires nothing) to CONF's cache_file,
 * through the same compiler and writer as `orgauthctl sync`.  The PAM tests use
 * it so that they depend on the cache format only, not on the directory reader.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_write.h"
#include "compile.h"
#include "conf.h"

enum { ACME, GLOBEX, LABELFORCE, N_ORGS };
enum {
	ALICE,
	BOB,
	CAROL,
	GARY,
	GINA,
	OSCAR,
	WALT,
	WANDA,
	WENDY,
	WILL,
	N_USERS
};

static size_t acme_admins[] = {ALICE};
static size_t acme_members[] = {BOB, CAROL};
static size_t globex_admins[] = {GINA};
static size_t globex_members[] = {GARY, OSCAR};
static size_t lf_admins[] = {WANDA};
static size_t lf_members[] = {WALT, WENDY, WILL};

static struct oa_org orgs[N_ORGS] = {
    {"o=acme", "acme", false, true, acme_admins, 1, acme_members, 2},
    {"o=globex", "globex", false, false, globex_admins, 1, globex_members, 2},
    {"o=labelforce", "labelforce", true, false, lf_admins, 1, lf_members, 3},
};

#define USER(n, id, org, role)                                                 \
	{                                                                      \
		"uid=" n, n, id, id, n, "/home/" n, "/bin/sh", org, role       \
	}

static struct oa_user users[N_USERS] = {
    USER("alice", 20001, ACME, OA_ROLE_ADMIN),
    USER("bob", 20002, ACME, OA_ROLE_MEMBER),
    USER("carol", 20003, ACME, OA_ROLE_MEMBER),
    USER("gary", 20004, GLOBEX, OA_ROLE_MEMBER),
    USER("gina", 20005, GLOBEX, OA_ROLE_ADMIN),
    USER("oscar", 20006, GLOBEX, OA_ROLE_MEMBER),
    USER("walt", 20007, LABELFORCE, OA_ROLE_MEMBER),
    USER("wanda", 20008, LABELFORCE, OA_ROLE_ADMIN),
    USER("wendy", 20009, LABELFORCE, OA_ROLE_MEMBER),
    USER("will", 20010, LABELFORCE, OA_ROLE_MEMBER),
};

/* sorted by user name, then role */
static struct oa_membership apollo_members[] = {
    {ALICE, "admin"},
    {BOB, "annotator"},
    {OSCAR, "reviewer"},
    {WALT, "annotator"},
};
static struct oa_membership galaxy_members[] = {{GARY, "annotator"}};
static struct oa_membership training_members[] = {{WILL, "annotator"}};
static struct oa_membership zephyr_members[] = {{CAROL, "team_manager"}};
static struct oa_membership faces_members[] = {
    {BOB, "admin"},
    {WENDY, "user"},
};

/* projects, then datasets; by name */
static struct oa_entity entities[] = {
    {OA_ENTITY_PROJECT, "cn=apollo", "apollo", ACME, apollo_members, 4},
    {OA_ENTITY_PROJECT, "cn=galaxy", "galaxy", GLOBEX, galaxy_members, 1},
    {OA_ENTITY_PROJECT, "cn=training", "training", LABELFORCE, training_members,
     1},
    {OA_ENTITY_PROJECT, "cn=zephyr", "zephyr", ACME, zephyr_members, 1},
    {OA_ENTITY_DATASET, "cn=faces", "faces", ACME, faces_members, 2},
};

static struct oa_directory dir = {orgs,	    N_ORGS, users, N_USERS,
				  entities, 5,	    NULL};

/*
 * The Workforce rule: walt (apollo) and wendy (faces) of labelforce hold
 * acme's workforce role; oscar of globex, not a Workforce organisation,
 * does not, though he is on apollo too.
 */
static size_t walt_via[] = {0};
static size_t wendy_via[] = {4};
static struct oa_role r_alice[] = {{ACME, OA_ROLE_ADMIN, NULL, 0}};
static struct oa_role r_bob[] = {{ACME, OA_ROLE_MEMBER, NULL, 0}};
static struct oa_role r_carol[] = {{ACME, OA_ROLE_MEMBER, NULL, 0}};
static struct oa_role r_gary[] = {{GLOBEX, OA_ROLE_MEMBER, NULL, 0}};
static struct oa_role r_gina[] = {{GLOBEX, OA_ROLE_ADMIN, NULL, 0}};
static struct oa_role r_oscar[] = {{GLOBEX, OA_ROLE_MEMBER, NULL, 0}};
static struct oa_role r_walt[] = {
    {ACME, OA_ROLE_WORKFORCE, walt_via, 1},
    {LABELFORCE, OA_ROLE_MEMBER, NULL, 0},
};
static struct oa_role r_wanda[] = {{LABELFORCE, OA_ROLE_ADMIN, NULL, 0}};
static struct oa_role r_wendy[] = {
    {ACME, OA_ROLE_WORKFORCE, wendy_via, 1},
    {LABELFORCE, OA_ROLE_MEMBER, NULL, 0},
};
static struct oa_role r_will[] = {{LABELFORCE, OA_ROLE_MEMBER, NULL, 0}};

static struct oa_user_roles roles[N_USERS] = {
    {r_alice, 1}, {r_bob, 1},  {r_carol, 1}, {r_gary, 1},  {r_gina, 1},
    {r_oscar, 1}, {r_walt, 2}, {r_wanda, 1}, {r_wendy, 2}, {r_will, 1},
};

static void
report(void *ctx, const char *message)
{
	(void)ctx;
	fprintf(stderr, "pam_fixture: %s\n", message);
}

static void
report_conf(void *ctx, const char *file, unsigned line, const char *message)
{
	(void)ctx;
	fprintf(stderr, "%s:%u: %s\n", file, line, message);
}

int
main(int argc, char **argv)
{
	struct oa_compiled c;
	struct oa_conf conf;
	unsigned char *buf = NULL;
	char err[256];
	size_t len;
	int ret = 99;

	if (argc != 2) {
		fprintf(stderr, "usage: pam_fixture CONF\n");
		return 99;
	}
	if (oa_conf_load(&conf, argv[1], report_conf, NULL) < 0)
		return 99;
	if (oa_compile(&dir, roles, &conf, 1700000000, &c, report, NULL) != 0)
		goto out;
	if (oa_cache_serialize(&c.model, &buf, &len) < 0) {
		perror("pam_fixture: serialize");
		goto out;
	}
	if (oa_cache_replace(conf.cache_file, buf, len, err, sizeof(err)) < 0) {
		fprintf(stderr, "pam_fixture: %s\n", err);
		goto out;
	}
	ret = 0;
out:
	free(buf);
	oa_compiled_free(&c);
	return ret;
}
