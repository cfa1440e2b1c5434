/*
 * libnss_orgauth.so.2: directory users and their organisation role groups
 * as passwd and group entries, answered from the role cache.
 *
 * The cache is mapped read-only and shared, once; lookups read the mapping
 * under a read lock and copy into the caller's buffer: no allocation and
 * no system call.  `orgauthctl sync` sets a superseded flag in the old
 * file's header before it renames a new file over it; a lookup that sees
 * the flag through the mapping takes the write lock and maps the new file.
 * If the file at the path is still the mapped one (the rename has not
 * happened yet, or the sync died), the mapping is kept and the path looked
 * at again only after RECHECK_MS, so lookups never loop on system calls.
 *
 * Links libc only (libcore and libcache are libc only) and never calls
 * back into NSS.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "conf.h"
#include "log.h"

#define EXPORT __attribute__((visibility("default")))

/* The entry points glibc looks up (nothing else is exported). */
enum nss_status _nss_orgauth_getpwnam_r(const char *name, struct passwd *pw,
					char *buffer, size_t buflen,
					int *errnop);
enum nss_status _nss_orgauth_getpwuid_r(uid_t uid, struct passwd *pw,
					char *buffer, size_t buflen,
					int *errnop);
enum nss_status _nss_orgauth_setpwent(void);
enum nss_status _nss_orgauth_endpwent(void);
enum nss_status _nss_orgauth_getpwent_r(struct passwd *pw, char *buffer,
					size_t buflen, int *errnop);
enum nss_status _nss_orgauth_getgrnam_r(const char *name, struct group *gr,
					char *buffer, size_t buflen,
					int *errnop);
enum nss_status _nss_orgauth_getgrgid_r(gid_t gid, struct group *gr,
					char *buffer, size_t buflen,
					int *errnop);
enum nss_status _nss_orgauth_setgrent(void);
enum nss_status _nss_orgauth_endgrent(void);
enum nss_status _nss_orgauth_getgrent_r(struct group *gr, char *buffer,
					size_t buflen, int *errnop);
enum nss_status _nss_orgauth_initgroups_dyn(const char *user, gid_t group,
					    long int *start, long int *size,
					    gid_t **groupsp, long int limit,
					    int *errnop);

/* How often a superseded file still in place is looked at again. */
#define RECHECK_MS 200
/* At most one "cache unavailable" log line per process this often. */
#define LOG_INTERVAL_MS 60000
/* Longer names cannot be in the cache (they fail oa_valid_unix_name). */
#define NAME_MAX_LEN 256

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_rwlock_t map_lock;
static pthread_mutex_t enum_lock = PTHREAD_MUTEX_INITIALIZER;

/* Under map_lock: read for lookups, write to change. */
static struct oa_cache_map cur;
static bool path_known;
static char cache_path[OA_CONF_PATH_LEN];
static struct oa_conf conf_buf; /* large: kept off the caller's stack */

/* Read without the write lock: atomics. */
static int64_t recheck_at_ms;
static int64_t logged_at_ms = -LOG_INTERVAL_MS;

/* Under enum_lock. */
static uint32_t pw_pos, gr_pos;

static int64_t
now_ms(void)
{
	struct timespec ts;

	/* the coarse clock is read from the vDSO: no system call */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
init_map_lock(void)
{
	pthread_rwlockattr_t attr;

	/* writers first, so a remap is not starved by busy readers */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(
	    &attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&map_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
}

/*
 * fork: no other thread may hold a lock at the moment of the fork, or the
 * child would inherit it held forever.  The child gets fresh locks (its
 * thread is not the owner glibc recorded) and keeps the mapping.
 */
static void
before_fork(void)
{
	/* the order of the enumerations: map_lock, then enum_lock */
	pthread_rwlock_wrlock(&map_lock);
	pthread_mutex_lock(&enum_lock);
}

static void
after_fork_parent(void)
{
	pthread_mutex_unlock(&enum_lock);
	pthread_rwlock_unlock(&map_lock);
}

static void
after_fork_child(void)
{
	init_map_lock();
	pthread_mutex_init(&enum_lock, NULL);
}

static void
init(void)
{
	init_map_lock();
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* Says why the cache cannot be used, at most once per LOG_INTERVAL_MS. */
static void
log_unavailable(const char *path, const char *reason, int err)
{
	char qpath[OA_LOG_QUOTED_SIZE];
	int64_t now = now_ms();
	int64_t last = __atomic_load_n(&logged_at_ms, __ATOMIC_RELAXED);

	if (now - last < LOG_INTERVAL_MS ||
	    !__atomic_compare_exchange_n(&logged_at_ms, &last, now, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	oa_log(LOG_ERR, "nss",
	       "event=cache_unavailable path=%s reason=\"%s\"%s%s",
	       oa_log_quote(qpath, sizeof(qpath), path), reason,
	       err != 0 ? " errno=" : "", err != 0 ? strerror(err) : "");
}

/*
 * Finds the cache path once: ORGAUTH_CACHE, else cache_file of the
 * configuration (ORGAUTH_CONFIG or the default path; a missing file means
 * the defaults).  The variables are ignored in setuid programs.  Under the
 * write lock.  Returns false, with *reason, when the configuration is
 * unusable.
 */
static bool
find_path(const char **reason)
{
	const char *env = secure_getenv("ORGAUTH_CACHE");
	const char *conf_path;

	if (path_known)
		return true;
	if (env != NULL && env[0] == '/' && strlen(env) < sizeof(cache_path)) {
		memcpy(cache_path, env, strlen(env) + 1);
		path_known = true;
		return true;
	}
	env = secure_getenv("ORGAUTH_CONFIG");
	conf_path = env != NULL && env[0] == '/' ? env : oa_conf_default_path();
	if (access(conf_path, F_OK) < 0 && errno == ENOENT) {
		oa_conf_defaults(&conf_buf);
	} else if (oa_conf_load(&conf_buf, conf_path, NULL, NULL) < 0) {
		*reason = "configuration file unusable";
		snprintf(cache_path, sizeof(cache_path), "%s", conf_path);
		return false;
	}
	memcpy(cache_path, conf_buf.cache_file, sizeof(cache_path));
	path_known = true;
	return true;
}

/*
 * Brings cur up to date.  Under the write lock; logs nothing (the caller
 * does, unlocked).  Returns OA_CACHE_OK when cur is usable.
 */
static enum oa_cache_error
refresh(const char **reason, int *err)
{
	struct oa_cache_map fresh;
	enum oa_cache_error e;

	*err = 0;
	if (!find_path(reason))
		return OA_CACHE_EIO;
	if (cur.base != NULL && !oa_cache_superseded(&cur))
		return OA_CACHE_OK;
	if (cur.base != NULL &&
	    now_ms() < __atomic_load_n(&recheck_at_ms, __ATOMIC_RELAXED))
		return OA_CACHE_OK;
	e = oa_cache_open(&fresh, cache_path);
	if (e != OA_CACHE_OK) {
		*reason = oa_cache_strerror(e);
		*err = e == OA_CACHE_EIO ? errno : 0;
		/* a replacement gone wrong: keep serving the old file */
		if (cur.base != NULL) {
			__atomic_store_n(&recheck_at_ms, now_ms() + RECHECK_MS,
					 __ATOMIC_RELAXED);
			return OA_CACHE_OK;
		}
		return e;
	}
	if (cur.base != NULL && fresh.dev == cur.dev && fresh.ino == cur.ino) {
		/* marked but not yet renamed over: look again later */
		oa_cache_close(&fresh);
		__atomic_store_n(&recheck_at_ms, now_ms() + RECHECK_MS,
				 __ATOMIC_RELAXED);
		return OA_CACHE_OK;
	}
	oa_cache_close(&cur);
	cur = fresh;
	return OA_CACHE_OK;
}

/*
 * Takes the read lock over a usable mapping.  Returns false, with the lock
 * not held, when there is no usable cache.
 */
static bool
acquire(void)
{
	const char *reason = NULL;
	enum oa_cache_error e;
	int err;

	pthread_once(&init_once, init);
	for (;;) {
		pthread_rwlock_rdlock(&map_lock);
		if (cur.base != NULL &&
		    (!oa_cache_superseded(&cur) ||
		     now_ms() <
			 __atomic_load_n(&recheck_at_ms, __ATOMIC_RELAXED)))
			return true;
		pthread_rwlock_unlock(&map_lock);

		pthread_rwlock_wrlock(&map_lock);
		e = refresh(&reason, &err);
		pthread_rwlock_unlock(&map_lock);
		if (e != OA_CACHE_OK) {
			log_unavailable(cache_path, reason, err);
			return false;
		}
		if (reason != NULL)
			log_unavailable(cache_path, reason, err);
		/* take the read lock again: cur may change in between */
		pthread_rwlock_rdlock(&map_lock);
		if (cur.base != NULL)
			return true;
		pthread_rwlock_unlock(&map_lock);
	}
}

static void
release(void)
{
	pthread_rwlock_unlock(&map_lock);
}

/* The caller's buffer, filled from the front. */
struct buf {
	char *p;
	size_t left;
};

static char *
buf_str(struct buf *b, const char *s)
{
	size_t n = strlen(s) + 1;
	char *out = b->p;

	if (n > b->left)
		return NULL;
	memcpy(out, s, n);
	b->p += n;
	b->left -= n;
	return out;
}

static char **
buf_ptrs(struct buf *b, size_t count)
{
	uintptr_t at = (uintptr_t)b->p;
	size_t pad = (sizeof(char *) - at % sizeof(char *)) % sizeof(char *);
	char **out;

	if (pad > b->left || count > (b->left - pad) / sizeof(char *))
		return NULL;
	out = (char **)(void *)(b->p + pad);
	b->p += pad + count * sizeof(char *);
	b->left -= pad + count * sizeof(char *);
	return out;
}

static bool
fill_passwd(const struct oa_cache_user *u, struct passwd *pw, char *buffer,
	    size_t buflen)
{
	struct buf b = {buffer, buflen};
	struct passwd out;

	out.pw_name = buf_str(&b, u->name);
	/*
	 * "*": no password here and none in a shadow database either ("x"
	 * would send pam_unix's account check looking for a shadow entry
	 * that does not exist, and it would refuse the user).
	 */
	out.pw_passwd = buf_str(&b, "*");
	out.pw_gecos = buf_str(&b, u->gecos);
	out.pw_dir = buf_str(&b, u->home);
	out.pw_shell = buf_str(&b, u->shell);
	if (out.pw_name == NULL || out.pw_passwd == NULL ||
	    out.pw_gecos == NULL || out.pw_dir == NULL || out.pw_shell == NULL)
		return false;
	out.pw_uid = u->uid;
	out.pw_gid = u->gid;
	*pw = out;
	return true;
}

static bool
fill_group(const struct oa_cache_group *g, struct group *gr, char *buffer,
	   size_t buflen)
{
	struct buf b = {buffer, buflen};
	struct group out;
	uint32_t i;

	out.gr_name = buf_str(&b, g->name);
	out.gr_passwd = buf_str(&b, "*");
	out.gr_mem = buf_ptrs(&b, (size_t)g->n_members + 1);
	if (out.gr_name == NULL || out.gr_passwd == NULL || out.gr_mem == NULL)
		return false;
	for (i = 0; i < g->n_members; i++) {
		out.gr_mem[i] = buf_str(&b, oa_cache_group_member(&cur, g, i));
		if (out.gr_mem[i] == NULL)
			return false;
	}
	out.gr_mem[i] = NULL;
	out.gr_gid = g->gid;
	*gr = out;
	return true;
}

static bool
name_ok(const char *name)
{
	return name != NULL && name[0] != '\0' &&
	       strnlen(name, NAME_MAX_LEN + 1) <= NAME_MAX_LEN;
}

#define SHORT_BUFFER(err) ((err) = ERANGE, NSS_STATUS_TRYAGAIN)

/*
 * Ends an entry point.  glibc passes &errno as errnop: the error goes
 * there last, and a success leaves errno as the caller had it.
 */
static enum nss_status
finish(enum nss_status ret, int saved, int err, int *errnop)
{
	if (ret == NSS_STATUS_SUCCESS)
		errno = saved;
	else if (err != 0)
		*errnop = err;
	return ret;
}

EXPORT enum nss_status
_nss_orgauth_getpwnam_r(const char *name, struct passwd *pw, char *buffer,
			size_t buflen, int *errnop)
{
	enum nss_status ret = NSS_STATUS_NOTFOUND;
	struct oa_cache_user u;
	int saved = errno, err = 0;

	if (!name_ok(name))
		goto out;
	if (!acquire()) {
		err = ENOENT;
		ret = NSS_STATUS_UNAVAIL;
		goto out;
	}
	if (!oa_cache_user_by_name(&cur, name, &u))
		ret = NSS_STATUS_NOTFOUND;
	else if (!fill_passwd(&u, pw, buffer, buflen))
		ret = SHORT_BUFFER(err);
	else
		ret = NSS_STATUS_SUCCESS;
	release();
out:
	return finish(ret, saved, err, errnop);
}

EXPORT enum nss_status
_nss_orgauth_getpwuid_r(uid_t uid, struct passwd *pw, char *buffer,
			size_t buflen, int *errnop)
{
	enum nss_status ret;
	struct oa_cache_user u;
	int saved = errno, err = 0;

	if (!acquire()) {
		err = ENOENT;
		ret = NSS_STATUS_UNAVAIL;
		goto out;
	}
	if (!oa_cache_user_by_uid(&cur, uid, &u))
		ret = NSS_STATUS_NOTFOUND;
	else if (!fill_passwd(&u, pw, buffer, buflen))
		ret = SHORT_BUFFER(err);
	else
		ret = NSS_STATUS_SUCCESS;
	release();
out:
	return finish(ret, saved, err, errnop);
}

EXPORT enum nss_status
_nss_orgauth_setpwent(void)
{
	pthread_once(&init_once, init);
	pthread_mutex_lock(&enum_lock);
	pw_pos = 0;
	pthread_mutex_unlock(&enum_lock);
	return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status
_nss_orgauth_endpwent(void)
{
	return _nss_orgauth_setpwent();
}

/*
 * XXX: enumeration walks indexes; a cache replaced in the middle of one
 * goes on at the same index of the new file, so a walk that spans a sync
 * may miss or repeat entries that sync added or removed.
 */
EXPORT enum nss_status
_nss_orgauth_getpwent_r(struct passwd *pw, char *buffer, size_t buflen,
			int *errnop)
{
	enum nss_status ret;
	struct oa_cache_user u;
	int saved = errno, err = 0;

	if (!acquire()) {
		err = ENOENT;
		ret = NSS_STATUS_UNAVAIL;
		goto out;
	}
	pthread_mutex_lock(&enum_lock);
	if (!oa_cache_user_at(&cur, pw_pos, &u)) {
		err = ENOENT;
		ret = NSS_STATUS_NOTFOUND;
	} else if (!fill_passwd(&u, pw, buffer, buflen)) {
		ret = SHORT_BUFFER(err);
	} else {
		pw_pos++;
		ret = NSS_STATUS_SUCCESS;
	}
	pthread_mutex_unlock(&enum_lock);
	release();
out:
	return finish(ret, saved, err, errnop);
}

EXPORT enum nss_status
_nss_orgauth_getgrnam_r(const char *name, struct group *gr, char *buffer,
			size_t buflen, int *errnop)
{
	enum nss_status ret = NSS_STATUS_NOTFOUND;
	struct oa_cache_group g;
	int saved = errno, err = 0;

	if (!name_ok(name))
		goto out;
	if (!acquire()) {
		err = ENOENT;
		ret = NSS_STATUS_UNAVAIL;
		goto out;
	}
	if (!oa_cache_group_by_name(&cur, name, &g))
		ret = NSS_STATUS_NOTFOUND;
	else if (!fill_group(&g, gr, buffer, buflen))
		ret = SHORT_BUFFER(err);
	else
		ret = NSS_STATUS_SUCCESS;
	release();
out:
	return finish(ret, saved, err, errnop);
}

EXPORT enum nss_status
_nss_orgauth_getgrgid_r(gid_t gid, struct group *gr, char *buffer,
			size_t buflen, int *errnop)
{
	enum nss_status ret;
	struct oa_cache_group g;
	int saved = errno, err = 0;

	if (!acquire()) {
		err = ENOENT;
		ret = NSS_STATUS_UNAVAIL;
		goto out;
	}
	if (!oa_cache_group_by_gid(&cur, gid, &g))
		ret = NSS_STATUS_NOTFOUND;
	else if (!fill_group(&g, gr, buffer, buflen))
		ret = SHORT_BUFFER(err);
	else
		ret = NSS_STATUS_SUCCESS;
	release();
out:
	return finish(ret, saved, err, errnop);
}

EXPORT enum nss_status
_nss_orgauth_setgrent(void)
{
	pthread_once(&init_once, init);
	pthread_mutex_lock(&enum_lock);
	gr_pos = 0;
	pthread_mutex_unlock(&enum_lock);
	return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status
_nss_orgauth_endgrent(void)
{
	return _nss_orgauth_setgrent();
}

EXPORT enum nss_status
_nss_orgauth_getgrent_r(struct group *gr, char *buffer, size_t buflen,
			int *errnop)
{
	enum nss_status ret;
	struct oa_cache_group g;
	int saved = errno, err = 0;

	if (!acquire()) {
		err = ENOENT;
		ret = NSS_STATUS_UNAVAIL;
		goto out;
	}
	pthread_mutex_lock(&enum_lock);
	if (!oa_cache_group_at(&cur, gr_pos, &g)) {
		err = ENOENT;
		ret = NSS_STATUS_NOTFOUND;
	} else if (!fill_group(&g, gr, buffer, buflen)) {
		ret = SHORT_BUFFER(err);
	} else {
		gr_pos++;
		ret = NSS_STATUS_SUCCESS;
	}
	pthread_mutex_unlock(&enum_lock);
	release();
out:
	return finish(ret, saved, err, errnop);
}

/* Appends gid to the caller's array, growing it as glibc expects. */
static enum nss_status
add_gid(gid_t gid, long int *start, long int *size, gid_t **groupsp,
	long int limit, int *err, bool *full)
{
	if (*start == *size) {
		long int n = *size > 0 ? *size * 2 : 16;
		gid_t *grown;

		if (limit > 0 && *size >= limit) {
			*full = true;
			return NSS_STATUS_SUCCESS;
		}
		if (limit > 0 && n > limit)
			n = limit;
		/* the one allocation: the caller's array is too small */
		grown = realloc(*groupsp, (size_t)n * sizeof(gid_t));
		if (grown == NULL) {
			*err = ENOMEM;
			return NSS_STATUS_TRYAGAIN;
		}
		*groupsp = grown;
		*size = n;
	}
	(*groupsp)[(*start)++] = gid;
	return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status
_nss_orgauth_initgroups_dyn(const char *user, gid_t group, long int *start,
			    long int *size, gid_t **groupsp, long int limit,
			    int *errnop)
{
	enum nss_status ret = NSS_STATUS_NOTFOUND;
	struct oa_cache_user u;
	bool full = false;
	uint32_t i, n;
	int saved = errno, err = 0;

	if (!name_ok(user))
		goto out;
	if (!acquire()) {
		err = ENOENT;
		ret = NSS_STATUS_UNAVAIL;
		goto out;
	}
	if (!oa_cache_user_by_name(&cur, user, &u)) {
		release();
		goto out;
	}
	ret = NSS_STATUS_SUCCESS;
	n = oa_cache_user_n_groups(&cur, &u);
	for (i = 0; i < n && !full && ret == NSS_STATUS_SUCCESS; i++) {
		gid_t gid = oa_cache_user_group_gid(&cur, &u, i);

		if (gid != group)
			ret = add_gid(gid, start, size, groupsp, limit, &err,
				      &full);
	}
	release();
out:
	return finish(ret, saved, err, errnop);
}
