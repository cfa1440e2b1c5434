/*
 * orgauthctl check, user and org: load the configuration and the
 * directory, then validate it or explain one user's or organisation's
 * roles.  Output is plain text in a fixed order, for people and for diff.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "compile.h"
#include "directory.h"

struct problems {
	unsigned count;
};

/* Problems go to stderr as "source:line: dn: message". */
static void
print_problem(void *ctx, const struct oa_origin *origin, const char *dn,
	      const char *message)
{
	struct problems *p = ctx;

	p->count++;
	if (origin != NULL && origin->source != NULL) {
		if (origin->line > 0)
			fprintf(stderr, "%s:%u: ", origin->source,
				origin->line);
		else
			fprintf(stderr, "%s: ", origin->source);
	}
	if (dn != NULL)
		fprintf(stderr, "%s: ", dn);
	fprintf(stderr, "%s\n", message);
}

/*
 * Parses the options every subcommand takes (--config, --help) and checks
 * the number of operands.  Returns -1 to go on, or the exit status.
 */
static int
sub_options(struct oa_cli *cli, int argc, char **argv, int n_operands,
	    const char *synopsis)
{
	static const struct option options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			cli->config_path = optarg;
			break;
		case 'h':
			printf("usage: orgauthctl [--config FILE] %s\n",
			       synopsis);
			return OA_EXIT_OK;
		default:
			fprintf(stderr,
				"usage: orgauthctl [--config FILE] %s\n",
				synopsis);
			return OA_EXIT_USAGE;
		}
	}
	if (argc - optind != n_operands) {
		fprintf(stderr, "usage: orgauthctl [--config FILE] %s\n",
			synopsis);
		return OA_EXIT_USAGE;
	}
	return -1;
}

/* Loads the configuration: 0, or the exit status (2 when the file cannot
 * be read at all, 1 when it has problems). */
static int
load_conf(struct oa_cli *cli)
{
	int fd;

	fd = open(cli->config_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot open: %s\n", cli->config_path,
			strerror(errno));
		return OA_EXIT_USAGE;
	}
	close(fd);
	if (oa_cli_load_conf(cli) < 0)
		return OA_EXIT_PROBLEM;
	return OA_EXIT_OK;
}

/*
 * Loads, resolves and validates the directory.  Returns 0, or the exit
 * status: 2 when it could not be read, 1 when it has problems (*dirp is
 * then still set: what was valid can be shown).
 */
static int
load_directory(struct oa_cli *cli, struct oa_directory **dirp,
	       struct problems *p)
{
	struct oa_directory *dir;
	int rc;

	*dirp = NULL;
	dir = oa_dir_new();
	if (dir == NULL) {
		oa_cli_error("out of memory");
		return OA_EXIT_USAGE;
	}
	rc = oa_dir_load(dir, &cli->conf, print_problem, p);
	if (rc < 0) {
		oa_dir_free(dir);
		return OA_EXIT_USAGE;
	}
	*dirp = dir;
	return rc > 0 ? OA_EXIT_PROBLEM : OA_EXIT_OK;
}

static const char *
source_name(const struct oa_conf *conf)
{
	return conf->directory_source == OA_DIR_LDAP ? conf->ldap_uri
						     : conf->directory_ldif;
}

static long
find_entity(const struct oa_directory *dir, enum oa_entity_kind kind,
	    long owner, const char *name)
{
	size_t i;

	for (i = 0; i < dir->n_entities; i++) {
		const struct oa_entity *e = &dir->entities[i];

		if (e->kind == kind && strcmp(e->name, name) == 0 &&
		    (owner < 0 || e->owner == (size_t)owner))
			return (long)i;
	}
	return -1;
}

/* The host settings of the configuration name things of the directory. */
static void
check_host(const struct oa_cli *cli, const struct oa_directory *dir,
	   struct problems *p)
{
	const struct oa_conf *conf = &cli->conf;
	struct oa_origin origin = {cli->config_path, 0};
	char msg[256];
	long org = -1;

	if (conf->host_organisation[0] != '\0') {
		org = oa_dir_find_org(dir, conf->host_organisation);
		if (org < 0) {
			snprintf(msg, sizeof(msg),
				 "host_organisation '%s' is not an "
				 "organisation of the directory",
				 conf->host_organisation);
			print_problem(p, &origin, NULL, msg);
		}
	}
	if (conf->required_project[0] != '\0' &&
	    find_entity(dir, OA_ENTITY_PROJECT, org, conf->required_project) <
		0) {
		snprintf(msg, sizeof(msg),
			 "required_project '%s' is not a project%s%s",
			 conf->required_project, org >= 0 ? " of " : "",
			 org >= 0 ? conf->host_organisation : "");
		print_problem(p, &origin, NULL, msg);
	}
	if (conf->required_dataset[0] != '\0' &&
	    find_entity(dir, OA_ENTITY_DATASET, org, conf->required_dataset) <
		0) {
		snprintf(msg, sizeof(msg),
			 "required_dataset '%s' is not a dataset%s%s",
			 conf->required_dataset, org >= 0 ? " of " : "",
			 org >= 0 ? conf->host_organisation : "");
		print_problem(p, &origin, NULL, msg);
	}
}

/*
 * Whoever can write the configuration or the directory decides who logs
 * in: say so when that is more than the file's owner.  A warning, not a
 * problem: the file may sit on a volume that shows other modes.
 */
static void
warn_writable(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		fprintf(stderr,
			"%s: warning: writable by %s: whoever can write it "
			"decides who logs in\n",
			path,
			(st.st_mode & S_IWOTH) != 0 ? "everyone" : "its group");
}

static void
print_compile_problem(void *ctx, const char *message)
{
	struct problems *p = ctx;

	p->count++;
	fprintf(stderr, "groups: %s\n", message);
}

/*
 * What sync would refuse beyond the directory itself: group names that
 * clash, GIDs that collide.  Runs the compiler without writing anything.
 * Returns 0, or -1 on memory exhaustion.
 */
static int
check_groups(const struct oa_cli *cli, const struct oa_directory *dir,
	     struct problems *p)
{
	struct oa_compiled compiled;
	struct oa_user_roles *roles;
	int rc;

	roles = oa_derive_roles(dir);
	if (roles == NULL)
		return -1;
	memset(&compiled, 0, sizeof(compiled));
	rc = oa_compile(dir, roles, &cli->conf, 0, &compiled,
			print_compile_problem, p);
	oa_compiled_free(&compiled);
	oa_roles_free(roles, dir->n_users);
	return rc < 0 ? -1 : 0;
}

static size_t
count_kind(const struct oa_directory *dir, enum oa_entity_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < dir->n_entities; i++)
		n += dir->entities[i].kind == kind;
	return n;
}

/* Output that did not reach its file (a full disk, a closed pipe) is an
 * I/O error, not a success. */
static int
flush_output(int rc)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		oa_cli_error("cannot write the output: %s", strerror(errno));
		return OA_EXIT_USAGE;
	}
	return rc;
}

static const char *
plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

int
oa_cmd_check(struct oa_cli *cli, int argc, char **argv)
{
	struct oa_directory *dir = NULL;
	struct problems p = {0};
	size_t n_projects, n_datasets;
	int rc;

	rc = sub_options(cli, argc, argv, 0, "check");
	if (rc >= 0)
		return rc;
	rc = load_conf(cli);
	if (rc == OA_EXIT_PROBLEM) {
		oa_cli_error("the directory is not checked until the "
			     "configuration is valid");
	}
	if (rc != OA_EXIT_OK)
		return rc;
	rc = load_directory(cli, &dir, &p);
	if (dir == NULL)
		return rc;
	check_host(cli, dir, &p);
	warn_writable(cli->config_path);
	if (cli->conf.directory_source == OA_DIR_LDIF)
		warn_writable(cli->conf.directory_ldif);
	if (p.count == 0 && check_groups(cli, dir, &p) < 0) {
		oa_cli_error("out of memory");
		oa_dir_free(dir);
		return OA_EXIT_USAGE;
	}
	n_projects = count_kind(dir, OA_ENTITY_PROJECT);
	n_datasets = count_kind(dir, OA_ENTITY_DATASET);
	if (p.count > 0) {
		oa_cli_error("%u %s found", p.count,
			     plural(p.count, "problem", "problems"));
		rc = OA_EXIT_PROBLEM;
	} else {
		printf("%s: ok\n", cli->config_path);
		printf("%s: ok: %zu %s, %zu %s, %zu %s, %zu %s\n",
		       source_name(&cli->conf), dir->n_orgs,
		       plural(dir->n_orgs, "organisation", "organisations"),
		       dir->n_users, plural(dir->n_users, "user", "users"),
		       n_projects, plural(n_projects, "project", "projects"),
		       n_datasets, plural(n_datasets, "dataset", "datasets"));
	}
	oa_dir_free(dir);
	return flush_output(rc);
}

/* "admin, annotator": the roles user holds in entity e. */
static void
print_entity_roles(const struct oa_entity *e, size_t user)
{
	const char *sep = "";
	size_t i;

	for (i = 0; i < e->n_members; i++) {
		if (e->members[i].user != user)
			continue;
		printf("%s%s", sep, e->members[i].role);
		sep = ", ";
	}
}

static bool
is_member(const struct oa_entity *e, size_t user)
{
	size_t i;

	for (i = 0; i < e->n_members; i++) {
		if (e->members[i].user == user)
			return true;
	}
	return false;
}

static void
print_user(const struct oa_directory *dir, const struct oa_user_roles *ur,
	   size_t ui)
{
	const struct oa_user *u = &dir->users[ui];
	const struct oa_org *home = &dir->orgs[u->home_org];
	size_t i, j, shown = 0;

	printf("user: %s\n", u->name);
	printf("dn: %s\n", u->dn);
	printf("uid: %u\n", u->uid);
	printf("gid: %u\n", u->gid);
	printf("gecos: %s\n", u->gecos);
	printf("home: %s\n", u->home);
	printf("shell: %s\n", u->shell);
	printf("home organisation: %s%s\n", home->name,
	       home->workforce ? " (a Workforce organisation)" : "");

	printf("\nroles:\n");
	for (i = 0; i < ur->n_roles; i++) {
		const struct oa_role *r = &ur->roles[i];

		printf("  %s %s\n", dir->orgs[r->org].name,
		       oa_role_name(r->role));
		if (r->role != OA_ROLE_WORKFORCE) {
			printf("    because: listed as %s of %s, the home "
			       "organisation\n",
			       oa_role_name(r->role), dir->orgs[r->org].name);
			continue;
		}
		for (j = 0; j < r->n_via; j++) {
			const struct oa_entity *e = &dir->entities[r->via[j]];

			printf("    because: member of %s %s (",
			       oa_entity_kind_name(e->kind), e->name);
			print_entity_roles(e, ui);
			printf(")\n");
		}
	}

	printf("\nmemberships:\n");
	for (i = 0; i < dir->n_entities; i++) {
		const struct oa_entity *e = &dir->entities[i];

		if (!is_member(e, ui))
			continue;
		printf("  %s %s of %s: ", oa_entity_kind_name(e->kind), e->name,
		       dir->orgs[e->owner].name);
		print_entity_roles(e, ui);
		if (e->owner != u->home_org && !home->workforce)
			printf(" (no role in %s: %s is not a Workforce "
			       "organisation)",
			       dir->orgs[e->owner].name, home->name);
		printf("\n");
		shown++;
	}
	if (shown == 0)
		printf("  (none)\n");
}

int
oa_cmd_user(struct oa_cli *cli, int argc, char **argv)
{
	struct oa_directory *dir = NULL;
	struct oa_user_roles *roles = NULL;
	struct problems p = {0};
	const char *name;
	long ui;
	int rc, dir_rc;

	rc = sub_options(cli, argc, argv, 1, "user NAME");
	if (rc >= 0)
		return rc;
	name = argv[optind];
	rc = load_conf(cli);
	if (rc != OA_EXIT_OK)
		return rc;
	dir_rc = load_directory(cli, &dir, &p);
	if (dir == NULL)
		return dir_rc;
	rc = OA_EXIT_PROBLEM;
	ui = oa_dir_find_user(dir, name);
	if (ui < 0) {
		oa_cli_error("no user '%s' in %s%s", name,
			     source_name(&cli->conf),
			     p.count > 0 ? " (among the valid entries)" : "");
		goto out;
	}
	roles = oa_derive_roles(dir);
	if (roles == NULL) {
		oa_cli_error("out of memory");
		rc = OA_EXIT_USAGE;
		goto out;
	}
	print_user(dir, &roles[ui], (size_t)ui);
	rc = dir_rc;
out:
	if (p.count > 0)
		oa_cli_error("the directory has %u %s; shown is what is valid "
			     "(see orgauthctl check)",
			     p.count, plural(p.count, "problem", "problems"));
	if (roles != NULL)
		oa_roles_free(roles, dir->n_users);
	oa_dir_free(dir);
	return flush_output(rc);
}

static void
print_users(const struct oa_directory *dir, const size_t *idx, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("  %s\n", dir->users[idx[i]].name);
	if (n == 0)
		printf("  (none)\n");
}

static void
print_workforce(const struct oa_directory *dir,
		const struct oa_user_roles *roles, size_t oi)
{
	size_t ui, i, j, shown = 0;

	for (ui = 0; ui < dir->n_users; ui++) {
		for (i = 0; i < roles[ui].n_roles; i++) {
			const struct oa_role *r = &roles[ui].roles[i];

			if (r->org != oi || r->role != OA_ROLE_WORKFORCE)
				continue;
			printf("  %s (from %s): ", dir->users[ui].name,
			       dir->orgs[dir->users[ui].home_org].name);
			for (j = 0; j < r->n_via; j++) {
				const struct oa_entity *e =
				    &dir->entities[r->via[j]];

				printf("%s%s %s", j > 0 ? ", " : "",
				       oa_entity_kind_name(e->kind), e->name);
			}
			printf("\n");
			shown++;
		}
	}
	if (shown == 0)
		printf("  (none)\n");
}

static void
print_entities(const struct oa_directory *dir, size_t oi,
	       enum oa_entity_kind kind)
{
	size_t i, j, shown = 0;

	for (i = 0; i < dir->n_entities; i++) {
		const struct oa_entity *e = &dir->entities[i];

		if (e->owner != oi || e->kind != kind)
			continue;
		printf("  %s\n", e->name);
		for (j = 0; j < e->n_members; j++)
			printf("    %s %s\n",
			       dir->users[e->members[j].user].name,
			       e->members[j].role);
		if (e->n_members == 0)
			printf("    (no members)\n");
		shown++;
	}
	if (shown == 0)
		printf("  (none)\n");
}

int
oa_cmd_org(struct oa_cli *cli, int argc, char **argv)
{
	struct oa_directory *dir = NULL;
	struct oa_user_roles *roles = NULL;
	struct problems p = {0};
	const struct oa_org *o;
	const char *name;
	long oi;
	int rc, dir_rc;

	rc = sub_options(cli, argc, argv, 1, "org NAME");
	if (rc >= 0)
		return rc;
	name = argv[optind];
	rc = load_conf(cli);
	if (rc != OA_EXIT_OK)
		return rc;
	dir_rc = load_directory(cli, &dir, &p);
	if (dir == NULL)
		return dir_rc;
	rc = OA_EXIT_PROBLEM;
	oi = oa_dir_find_org(dir, name);
	if (oi < 0) {
		oa_cli_error("no organisation '%s' in %s%s", name,
			     source_name(&cli->conf),
			     p.count > 0 ? " (among the valid entries)" : "");
		goto out;
	}
	roles = oa_derive_roles(dir);
	if (roles == NULL) {
		oa_cli_error("out of memory");
		rc = OA_EXIT_USAGE;
		goto out;
	}
	o = &dir->orgs[oi];
	printf("organisation: %s\n", o->name);
	printf("dn: %s\n", o->dn);
	printf("workforce organisation: %s\n", o->workforce ? "yes" : "no");
	printf("mfa required: %s\n", o->mfa_required ? "yes" : "no");
	printf("\nadmins:\n");
	print_users(dir, o->admins, o->n_admins);
	printf("\nmembers:\n");
	print_users(dir, o->members, o->n_members);
	printf("\nworkforce:\n");
	print_workforce(dir, roles, (size_t)oi);
	printf("\nprojects:\n");
	print_entities(dir, (size_t)oi, OA_ENTITY_PROJECT);
	printf("\ndatasets:\n");
	print_entities(dir, (size_t)oi, OA_ENTITY_DATASET);
	rc = dir_rc;
out:
	if (p.count > 0)
		oa_cli_error("the directory has %u %s; shown is what is valid "
			     "(see orgauthctl check)",
			     p.count, plural(p.count, "problem", "problems"));
	if (roles != NULL)
		oa_roles_free(roles, dir->n_users);
	oa_dir_free(dir);
	return flush_output(rc);
}
