#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

char *
oa_log_quote(char *dst, size_t size, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t out = 0, in;

	if (size < 8) {
		if (size > 0)
			dst[0] = '\0';
		return dst;
	}
	if (s == NULL) {
		snprintf(dst, size, "-");
		return dst;
	}
	dst[out++] = '"';
	for (in = 0; s[in] != '\0'; in++) {
		unsigned char c = (unsigned char)s[in];

		/* room for the widest escape, "...", the quote and NUL */
		if (in >= OA_LOG_FIELD_MAX || out + 4 + 3 + 2 > size) {
			memcpy(dst + out, "...", 3);
			out += 3;
			break;
		}
		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
			dst[out++] = '\\';
			dst[out++] = 'x';
			dst[out++] = hex[c >> 4];
			dst[out++] = hex[c & 0xf];
		} else {
			dst[out++] = (char)c;
		}
	}
	dst[out++] = '"';
	dst[out] = '\0';
	return dst;
}

void
oa_log(int priority, const char *part, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/*
	 * syslog(3) without openlog() sends to /dev/log and drops the line
	 * when there is no listener; LOG_CONS is never set, so nothing is
	 * written to the console.
	 */
	syslog(LOG_AUTHPRIV | priority, "orgauth(%s): %s", part, msg);
}
