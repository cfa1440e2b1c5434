/* Placeholder until the LDAP source lands. */
#include "config.h"

#include "directory.h"

int
oa_dir_load_ldap(struct oa_directory *dir, const struct oa_conf *conf,
		 oa_dir_report_fn *report, void *ctx)
{
	struct oa_origin origin = {conf->ldap_uri, 0};

	(void)dir;
	report(ctx, &origin, NULL, "LDAP source not built yet");
	return -1;
}
