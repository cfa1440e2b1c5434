/*
 * Logging helpers shared by the modules and the tool.  Module log lines go
 * to syslog (LOG_AUTHPRIV) as "orgauth(<part>): key=value ..." with user
 * strings quoted and capped by oa_log_quote(); never a secret or a code.
 */
#ifndef ORGAUTH_LOG_H
#define ORGAUTH_LOG_H

#include <stddef.h>

/* Longest user-controlled string a log line carries, before the quotes. */
#define OA_LOG_FIELD_MAX 64
/* Size of a buffer that always holds a quoted field. */
#define OA_LOG_QUOTED_SIZE (OA_LOG_FIELD_MAX * 4 + 8)

/*
 * Writes s into dst as a double-quoted string: control characters, quotes,
 * backslashes and bytes above 0x7e escaped as \xNN, cut after
 * OA_LOG_FIELD_MAX bytes with "..." appended.  NULL becomes "-".
 * Returns dst.
 */
char *oa_log_quote(char *dst, size_t size, const char *s);

/* syslog(LOG_AUTHPRIV | priority) with the "orgauth(part): " prefix. */
void oa_log(int priority, const char *part, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
