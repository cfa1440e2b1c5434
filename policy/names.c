#include "config.h"

#include <string.h>

#include "directory.h"

bool
oa_valid_unix_name(const char *name)
{
	size_t i, len = strlen(name);

	/* The POSIX portable filename set, as useradd accepts by default. */
	if (len == 0 || len > 32 || name[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	/* all digits would be taken for an id by chown and friends */
	return strspn(name, "0123456789") != len;
}
