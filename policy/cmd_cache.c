/* Placeholder until the part that owns this subcommand lands. */
#include "config.h"

#include "commands.h"

int
oa_cmd_cache(struct oa_cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	oa_cli_error("cache: not built yet");
	return OA_EXIT_USAGE;
}
