/* Placeholder: check, user and org land with the foundation. */
#include "config.h"

#include "commands.h"

int
oa_cmd_check(struct oa_cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return oa_cli_load_conf(cli) == 0 ? OA_EXIT_OK : OA_EXIT_PROBLEM;
}

int
oa_cmd_user(struct oa_cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	return OA_EXIT_USAGE;
}

int
oa_cmd_org(struct oa_cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	return OA_EXIT_USAGE;
}
