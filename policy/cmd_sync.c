/* Placeholder until the part that owns this subcommand lands. */
#include "config.h"

#include "commands.h"

int
oa_cmd_sync(struct oa_cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	oa_cli_error("sync: not built yet");
	return OA_EXIT_USAGE;
}
