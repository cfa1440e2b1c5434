/*
 * orgauthctl: reads the directory, explains roles, compiles the cache and
 * manages MFA enrolment.  This file only parses the global options and
 * hands over to the subcommand.
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
	const char *name;
	int (*run)(struct oa_cli *cli, int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
    {"check", oa_cmd_check, "validate the configuration and directory"},
    {"user", oa_cmd_user, "show a user's organisations, roles and reasons"},
    {"org", oa_cmd_org, "show an organisation's dashboard"},
    {"sync", oa_cmd_sync, "compile the directory into the role cache"},
    {"cache", oa_cmd_cache, "show and verify the role cache"},
    {"mfa", oa_cmd_mfa, "MFA status, enrolment, reset and unlock"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/*
 * Messages echo names and values the administrator typed or a file held;
 * their control characters are shown as '?' so that an escape sequence
 * in them cannot rewrite the terminal.
 */
static void
put_plain(const char *s, FILE *out)
{
	for (; *s != '\0'; s++)
		fputc(((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s, out);
}

void
oa_cli_error(const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fputs("orgauthctl: ", stderr);
	put_plain(msg, stderr);
	fputc('\n', stderr);
}

static void
report_conf_problem(void *ctx, const char *file, unsigned line,
		    const char *message)
{
	(void)ctx;
	put_plain(file, stderr);
	if (line > 0)
		fprintf(stderr, ":%u", line);
	fputs(": ", stderr);
	put_plain(message, stderr);
	fputc('\n', stderr);
}

int
oa_cli_load_conf(struct oa_cli *cli)
{
	return oa_conf_load(&cli->conf, cli->config_path, report_conf_problem,
			    NULL);
}

/*
 * Whoever can write the configuration chooses the file sync replaces
 * (cache_file) and the store mfa writes, with root's rights.
 */
int
oa_cli_load_conf_trusted(struct oa_cli *cli)
{
	if (oa_cli_load_conf(cli) < 0)
		return -1;
	if (!cli->conf.loaded_safe) {
		report_conf_problem(NULL, cli->config_path, 0,
				    "owned by another user, or writable by "
				    "group or others; not trusted for this "
				    "command");
		return -1;
	}
	return 0;
}

static void
usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: orgauthctl [--config FILE] COMMAND [ARGS]\n\n"
		     "commands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out,
		"\noptions:\n"
		"  -c, --config FILE  configuration file (default %s)\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n"
		"\nexit status: 0 ok, 1 problem found, 2 usage or I/O "
		"error\n",
		oa_conf_default_path());
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct oa_cli cli;
	size_t i;
	int c;

	memset(&cli, 0, sizeof(cli));
	cli.config_path = oa_conf_default_path();
	oa_conf_defaults(&cli.conf);

	/* '+': stop at the subcommand; its own options are its business. */
	while ((c = getopt_long(argc, argv, "+c:hV", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			cli.config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return OA_EXIT_OK;
		case 'V':
			printf("orgauthctl %s\n", PACKAGE_VERSION);
			return OA_EXIT_OK;
		default:
			usage(stderr);
			return OA_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return OA_EXIT_USAGE;
	}
	for (i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			argc -= optind;
			argv += optind;
			optind = 0; /* let the subcommand run getopt afresh */
			return commands[i].run(&cli, argc, argv);
		}
	}
	oa_cli_error("unknown command '%s' (see orgauthctl --help)",
		     argv[optind]);
	return OA_EXIT_USAGE;
}
