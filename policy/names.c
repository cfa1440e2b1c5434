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

int
oa_group_name(char *dst, size_t size, const char *template, const char *org,
	      const char *role, const char *name)
{
	size_t out = 0, n;
	const char *p, *add;
	char pct[2] = "%";

	if (size == 0)
		return -1;
	for (p = template; *p != '\0'; p++) {
		if (*p != '%') {
			pct[0] = *p;
			add = pct;
		} else {
			switch (*++p) {
			case 'o':
				add = org;
				break;
			case 'r':
				add = role;
				break;
			case 'n':
				add = name;
				break;
			case '%':
				pct[0] = '%';
				add = pct;
				break;
			default: /* also the NUL of a trailing '%' */
				dst[0] = '\0';
				return -1;
			}
		}
		n = add != NULL ? strlen(add) : 0;
		if (out + n >= size) {
			dst[0] = '\0';
			return -1;
		}
		memcpy(dst + out, add, n);
		out += n;
	}
	dst[out] = '\0';
	return 0;
}

const char *
oa_entity_kind_name(enum oa_entity_kind kind)
{
	return kind == OA_ENTITY_PROJECT ? "project" : "dataset";
}
