/*
 * orgauthctl's subcommands.  Each takes the arguments after its own name
 * (argv[0] is the subcommand) and returns the exit status:
 * 0 all is well, 1 a problem was found, 2 usage or I/O error.
 */
#ifndef ORGAUTH_COMMANDS_H
#define ORGAUTH_COMMANDS_H

#include <stdio.h>

#include "conf.h"

#define OA_EXIT_OK	0
#define OA_EXIT_PROBLEM 1
#define OA_EXIT_USAGE	2

struct oa_cli {
	const char *config_path; /* --config, or the default */
	struct oa_conf conf;
};

/*
 * Loads cli->config_path into cli->conf, printing every problem on stderr
 * as "file:line: message".  Returns 0 or -1.
 */
int oa_cli_load_conf(struct oa_cli *cli);
/* The same, for commands that write as root (sync, mfa): also refuses a
 * file owned by another user or writable by group or others. */
int oa_cli_load_conf_trusted(struct oa_cli *cli);

/* Prints "orgauthctl: " and the message on stderr. */
void oa_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int oa_cmd_check(struct oa_cli *cli, int argc, char **argv);
int oa_cmd_user(struct oa_cli *cli, int argc, char **argv);
int oa_cmd_org(struct oa_cli *cli, int argc, char **argv);
int oa_cmd_sync(struct oa_cli *cli, int argc, char **argv);
int oa_cmd_cache(struct oa_cli *cli, int argc, char **argv);
int oa_cmd_mfa(struct oa_cli *cli, int argc, char **argv);

#endif
