/*
 * Helpers of the LDAP directory source that are worth testing on their
 * own: filter escaping (RFC 4515) and the filters built from the mapping.
 */
#ifndef ORGAUTH_LDAP_SOURCE_H
#define ORGAUTH_LDAP_SOURCE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Writes the len bytes of value into out (of size outsize) as an RFC 4515
 * assertion value: '*', '(', ')', '\\' and NUL become \2a, \28, \29, \5c
 * and \00, so that no value can change the shape of a filter.  The result
 * is NUL-terminated.  Returns its length, or -1 when out is too small
 * (out is then the empty string).
 */
ssize_t oa_ldap_escape_value(char *out, size_t outsize, const char *value,
			     size_t len);

/*
 * Builds "(&(objectClass=<class>)<extra>)" into out, the class escaped;
 * extra is a filter taken from the configuration as it is (it may be NULL
 * or empty).  Returns 0, or -1 when out is too small or extra is not one
 * balanced, parenthesised filter item.
 */
int oa_ldap_class_filter(char *out, size_t outsize, const char *object_class,
			 const char *extra);

#endif
