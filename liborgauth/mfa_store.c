/*
 * The MFA secret store (see mfa_store.h).  A record is a small text file,
 * "<user>.mfa", next to its lock file "<user>.lock":
 *
 *   orgauth-mfa-v1
 *   kind=totp            digits=6          period=30
 *   secret=<base64 of nonce || crypto_secretbox(secret)>
 *   counter=<last TOTP step used, or the next HOTP counter>
 *   failures=N  first_failure=T  locked_until=T  enrolled_at=T
 *   recovery=<Argon2id hash, or "-" once used>   (one line per code)
 *
 * (one key per line).  The secretbox key is derived per user from the host
 * key, so a record copied to another user's name does not decrypt.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <sodium.h>

#include "mfa_store.h"

#define KEY_BYTES crypto_secretbox_KEYBYTES
#define BOX_BYTES                                                              \
	(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +             \
	 OA_MFA_SECRET_BYTES)
#define RECORD_MAX    (32 * 1024)
#define RECORD_MAGIC  "orgauth-mfa-v1"
#define FILE_NAME_MAX (OA_MFA_USER_MAX + 40)

struct oa_mfa_store {
	int dirfd;
	unsigned char *key; /* sodium_malloc'd host key */
};

static const char recovery_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

const char *
oa_mfa_strerror(enum oa_mfa_error err)
{
	switch (err) {
	case OA_MFA_OK:
		return "ok";
	case OA_MFA_ENOENT:
		return "not enrolled";
	case OA_MFA_EINVAL:
		return "invalid user name";
	case OA_MFA_EIO:
		return "i/o error";
	case OA_MFA_EPERM:
		return "wrong owner, mode or file type";
	case OA_MFA_EFORMAT:
		return "corrupt file";
	case OA_MFA_ECRYPTO:
		return "secret does not decrypt with the host key";
	case OA_MFA_EEXIST:
		return "already enrolled";
	}
	return "unknown error";
}

const char *
oa_mfa_verdict_name(enum oa_mfa_verdict verdict)
{
	switch (verdict) {
	case OA_MFA_ACCEPTED:
		return "otp-accepted";
	case OA_MFA_ACCEPTED_RECOVERY:
		return "recovery-code-accepted";
	case OA_MFA_REJECTED:
		return "rejected";
	case OA_MFA_REPLAYED:
		return "replayed";
	case OA_MFA_LOCKED:
		return "locked";
	}
	return "unknown";
}

bool
oa_mfa_valid_user(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0' || name[0] == '.' ||
	    name[0] == '-' || strlen(name) > OA_MFA_USER_MAX)
		return false;
	for (i = 0; name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isascii(c) ||
		    !(isalnum(c) || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Root-owned, nothing for group or others, one link. */
static bool
private_file(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_uid == 0 &&
	       (st->st_mode & 077) == 0 && st->st_nlink == 1;
}

static bool
private_dir(const struct stat *st)
{
	return S_ISDIR(st->st_mode) && st->st_uid == 0 &&
	       (st->st_mode & 077) == 0;
}

static enum oa_mfa_error
errno_error(void)
{
	return errno == ELOOP || errno == EMLINK ? OA_MFA_EPERM : OA_MFA_EIO;
}

static int
read_all(int fd, unsigned char *buf, size_t size, size_t *len)
{
	size_t got = 0;
	ssize_t n;

	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	return 0;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
random_suffix(char *buf, size_t size)
{
	unsigned char rnd[8];
	size_t i;

	randombytes_buf(rnd, sizeof(rnd));
	for (i = 0; i < sizeof(rnd) && 2 * i + 2 < size; i++)
		snprintf(buf + 2 * i, 3, "%02x", rnd[i]);
}

/* Fsyncs the folder holding path, so a rename or link in it is durable. */
static int
sync_parent(const char *path)
{
	char dir[OA_CONF_PATH_LEN];
	char *slash;
	int fd, ret;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return 0;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

/*
 * Writes a fresh host key next to path and links it into place; link()
 * fails when another process won the race, and then its key is used.
 */
static enum oa_mfa_error
create_host_key(const char *path)
{
	char tmp[OA_CONF_PATH_LEN + 32], suffix[17];
	unsigned char *key = NULL;
	enum oa_mfa_error ret = OA_MFA_EIO;
	int fd = -1;

	random_suffix(suffix, sizeof(suffix));
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%s", path, suffix) >=
	    sizeof(tmp))
		goto out;
	key = sodium_malloc(KEY_BYTES);
	if (key == NULL)
		goto out;
	randombytes_buf(key, KEY_BYTES);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		goto out;
	if (fchmod(fd, 0600) < 0 || write_all(fd, key, KEY_BYTES) < 0 ||
	    fsync(fd) < 0)
		goto out_unlink;
	if (link(tmp, path) < 0 && errno != EEXIST)
		goto out_unlink;
	if (sync_parent(path) < 0)
		goto out_unlink;
	ret = OA_MFA_OK;
out_unlink:
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	sodium_free(key);
	return ret;
}

static enum oa_mfa_error
load_host_key(const char *path, unsigned char *key)
{
	unsigned char buf[KEY_BYTES + 1];
	enum oa_mfa_error ret;
	struct stat st;
	size_t len;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT) {
		ret = create_host_key(path);
		if (ret != OA_MFA_OK)
			return ret;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	}
	if (fd < 0)
		return errno_error();
	ret = OA_MFA_EPERM;
	if (fstat(fd, &st) < 0 || !private_file(&st))
		goto out;
	ret = OA_MFA_EIO;
	if (read_all(fd, buf, sizeof(buf), &len) < 0)
		goto out;
	ret = OA_MFA_EFORMAT;
	if (len != KEY_BYTES)
		goto out;
	memcpy(key, buf, KEY_BYTES);
	ret = OA_MFA_OK;
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return ret;
}

enum oa_mfa_error
oa_mfa_store_open(const struct oa_conf *conf, struct oa_mfa_store **out)
{
	struct oa_mfa_store *store = NULL;
	enum oa_mfa_error ret = OA_MFA_EIO;
	struct stat st;
	int fd;

	*out = NULL;
	if (sodium_init() < 0)
		return OA_MFA_EIO;
	fd = open(conf->mfa_dir,
		  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* Created on first use, like the host key. */
		if (mkdir(conf->mfa_dir, 0700) < 0 && errno != EEXIST)
			return OA_MFA_EIO;
		fd = open(conf->mfa_dir,
			  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return errno == ELOOP || errno == ENOTDIR ? OA_MFA_EPERM
							  : OA_MFA_EIO;
	store = calloc(1, sizeof(*store));
	if (store == NULL)
		goto fail;
	store->dirfd = fd;
	fd = -1;
	ret = OA_MFA_EPERM;
	if (fstat(store->dirfd, &st) < 0 || !private_dir(&st))
		goto fail;
	ret = OA_MFA_EIO;
	store->key = sodium_malloc(KEY_BYTES);
	if (store->key == NULL)
		goto fail;
	ret = load_host_key(conf->host_key_file, store->key);
	if (ret != OA_MFA_OK)
		goto fail;
	*out = store;
	return OA_MFA_OK;
fail:
	if (fd >= 0)
		close(fd);
	oa_mfa_store_close(store);
	return ret;
}

void
oa_mfa_store_close(struct oa_mfa_store *store)
{
	if (store == NULL)
		return;
	if (store->dirfd >= 0)
		close(store->dirfd);
	sodium_free(store->key);
	free(store);
}

int
oa_mfa_record_init(struct oa_mfa_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	if (sodium_init() < 0)
		return -1;
	rec->secret = sodium_malloc(OA_MFA_SECRET_BYTES);
	if (rec->secret == NULL)
		return -1;
	sodium_memzero(rec->secret, OA_MFA_SECRET_BYTES);
	return 0;
}

void
oa_mfa_record_free(struct oa_mfa_record *rec)
{
	/* sodium_free wipes the block before unmapping it. */
	sodium_free(rec->secret);
	rec->secret = NULL;
}

unsigned
oa_mfa_recovery_left(const struct oa_mfa_record *rec)
{
	unsigned i, n = 0;

	for (i = 0; i < rec->n_recovery; i++)
		if (rec->recovery[i][0] != '\0')
			n++;
	return n;
}

/* The secretbox key of one user: BLAKE2b keyed with the host key. */
static int
user_key(const struct oa_mfa_store *store, const char *user, unsigned char *out)
{
	crypto_generichash_state st;

	if (crypto_generichash_init(&st, store->key, KEY_BYTES, KEY_BYTES) <
		0 ||
	    crypto_generichash_update(&st, (const unsigned char *)RECORD_MAGIC,
				      sizeof(RECORD_MAGIC)) < 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)user,
				      strlen(user)) < 0 ||
	    crypto_generichash_final(&st, out, KEY_BYTES) < 0) {
		sodium_memzero(&st, sizeof(st));
		return -1;
	}
	sodium_memzero(&st, sizeof(st));
	return 0;
}

static bool
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

enum {
	SEEN_KIND = 1 << 0,
	SEEN_DIGITS = 1 << 1,
	SEEN_PERIOD = 1 << 2,
	SEEN_SECRET = 1 << 3,
	SEEN_COUNTER = 1 << 4,
	SEEN_FAILURES = 1 << 5,
	SEEN_FIRST = 1 << 6,
	SEEN_LOCKED = 1 << 7,
	SEEN_ENROLLED = 1 << 8,
	SEEN_ALL = (1 << 9) - 1,
};

struct field {
	const char *name;
	unsigned bit;
	uint64_t min, max;
	size_t offset;
	size_t size;
};

#define RFIELD(k, bit, lo, hi, f)                                              \
	{                                                                      \
		k, bit, lo, hi, offsetof(struct oa_mfa_record, f),             \
		    sizeof(((struct oa_mfa_record *)0)->f)                     \
	}

static const struct field number_fields[] = {
    RFIELD("digits", SEEN_DIGITS, 6, 8, digits),
    RFIELD("period", SEEN_PERIOD, 10, 300, period),
    RFIELD("counter", SEEN_COUNTER, 0, UINT64_MAX / 2, counter),
    RFIELD("failures", SEEN_FAILURES, 0, 100000, failures),
    RFIELD("first_failure", SEEN_FIRST, 0, INT64_MAX / 2, first_failure),
    RFIELD("locked_until", SEEN_LOCKED, 0, INT64_MAX / 2, locked_until),
    RFIELD("enrolled_at", SEEN_ENROLLED, 0, INT64_MAX / 2, enrolled_at),
};

static bool
set_number(struct oa_mfa_record *rec, const struct field *f, const char *v)
{
	unsigned char *p = (unsigned char *)rec + f->offset;
	uint64_t n;

	if (!parse_u64(v, f->max, &n) || n < f->min)
		return false;
	if (f->size == sizeof(uint64_t)) {
		uint64_t u = n;

		memcpy(p, &u, sizeof(u));
	} else {
		unsigned u = (unsigned)n;

		memcpy(p, &u, sizeof(u));
	}
	return true;
}

static enum oa_mfa_error
decrypt_secret(const struct oa_mfa_store *store, const char *user,
	       const char *b64, struct oa_mfa_record *rec)
{
	unsigned char box[BOX_BYTES];
	unsigned char *key = NULL;
	enum oa_mfa_error ret = OA_MFA_EFORMAT;
	size_t len;

	if (sodium_base642bin(box, sizeof(box), b64, strlen(b64), NULL, &len,
			      NULL, sodium_base64_VARIANT_ORIGINAL) < 0 ||
	    len != sizeof(box))
		goto out;
	ret = OA_MFA_EIO;
	key = sodium_malloc(KEY_BYTES);
	if (key == NULL || user_key(store, user, key) < 0)
		goto out;
	ret = OA_MFA_ECRYPTO;
	if (crypto_secretbox_open_easy(
		rec->secret, box + crypto_secretbox_NONCEBYTES,
		sizeof(box) - crypto_secretbox_NONCEBYTES, box, key) < 0)
		goto out;
	ret = OA_MFA_OK;
out:
	sodium_free(key);
	return ret;
}

static enum oa_mfa_error
parse_record(const struct oa_mfa_store *store, const char *user, char *text,
	     struct oa_mfa_record *rec)
{
	char *line, *save, *eq;
	unsigned seen = 0;
	const char *secret = NULL;
	size_t i;

	line = strtok_r(text, "\n", &save);
	if (line == NULL || strcmp(line, RECORD_MAGIC) != 0)
		return OA_MFA_EFORMAT;
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		eq = strchr(line, '=');
		if (eq == NULL)
			return OA_MFA_EFORMAT;
		*eq++ = '\0';
		if (strcmp(line, "recovery") == 0) {
			if (rec->n_recovery >= OA_MFA_MAX_RECOVERY)
				return OA_MFA_EFORMAT;
			if (strcmp(eq, "-") == 0) {
				rec->recovery[rec->n_recovery++][0] = '\0';
				continue;
			}
			if (strncmp(eq, "$argon2id$", 10) != 0 ||
			    strlen(eq) >= OA_MFA_HASH_LEN)
				return OA_MFA_EFORMAT;
			memcpy(rec->recovery[rec->n_recovery++], eq,
			       strlen(eq) + 1);
			continue;
		}
		if (strcmp(line, "kind") == 0) {
			if (seen & SEEN_KIND)
				return OA_MFA_EFORMAT;
			seen |= SEEN_KIND;
			if (strcmp(eq, "totp") == 0)
				rec->kind = OA_OTP_TOTP;
			else if (strcmp(eq, "hotp") == 0)
				rec->kind = OA_OTP_HOTP;
			else
				return OA_MFA_EFORMAT;
			continue;
		}
		if (strcmp(line, "secret") == 0) {
			if (seen & SEEN_SECRET)
				return OA_MFA_EFORMAT;
			seen |= SEEN_SECRET;
			secret = eq;
			continue;
		}
		for (i = 0;
		     i < sizeof(number_fields) / sizeof(number_fields[0]); i++)
			if (strcmp(line, number_fields[i].name) == 0)
				break;
		if (i == sizeof(number_fields) / sizeof(number_fields[0]) ||
		    (seen & number_fields[i].bit) ||
		    !set_number(rec, &number_fields[i], eq))
			return OA_MFA_EFORMAT;
		seen |= number_fields[i].bit;
	}
	if (seen != SEEN_ALL)
		return OA_MFA_EFORMAT;
	return decrypt_secret(store, user, secret, rec);
}

static int
file_name(char *buf, size_t size, const char *user, const char *suffix)
{
	if (!oa_mfa_valid_user(user))
		return -1;
	if ((size_t)snprintf(buf, size, "%s%s", user, suffix) >= size)
		return -1;
	return 0;
}

static enum oa_mfa_error
read_record(struct oa_mfa_store *store, const char *user,
	    struct oa_mfa_record *rec)
{
	char name[FILE_NAME_MAX];
	char *text = NULL;
	enum oa_mfa_error ret;
	struct stat st;
	size_t len;
	int fd;

	if (file_name(name, sizeof(name), user, ".mfa") < 0)
		return OA_MFA_EINVAL;
	fd = openat(store->dirfd, name,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? OA_MFA_ENOENT : errno_error();
	ret = OA_MFA_EPERM;
	if (fstat(fd, &st) < 0 || !private_file(&st))
		goto out;
	ret = OA_MFA_EFORMAT;
	if (st.st_size > RECORD_MAX)
		goto out;
	ret = OA_MFA_EIO;
	text = malloc(RECORD_MAX + 1);
	if (text == NULL ||
	    read_all(fd, (unsigned char *)text, RECORD_MAX, &len) < 0)
		goto out;
	text[len] = '\0';
	ret = OA_MFA_EFORMAT;
	if (strlen(text) != len)
		goto out;
	{
		unsigned char *secret = rec->secret;

		memset(rec, 0, sizeof(*rec));
		rec->secret = secret;
	}
	ret = parse_record(store, user, text, rec);
out:
	free(text);
	close(fd);
	return ret;
}

enum oa_mfa_error
oa_mfa_read(struct oa_mfa_store *store, const char *user,
	    struct oa_mfa_record *rec)
{
	return read_record(store, user, rec);
}

enum oa_mfa_error
oa_mfa_enrolled(struct oa_mfa_store *store, const char *user)
{
	char name[FILE_NAME_MAX];
	struct stat st;

	if (file_name(name, sizeof(name), user, ".mfa") < 0)
		return OA_MFA_EINVAL;
	if (fstatat(store->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? OA_MFA_ENOENT : OA_MFA_EIO;
	/* The record is read (and judged) when it is used. */
	return private_file(&st) ? OA_MFA_OK : OA_MFA_EPERM;
}

static enum oa_mfa_error
format_record(const struct oa_mfa_store *store, const char *user,
	      const struct oa_mfa_record *rec, char *text, size_t size)
{
	unsigned char box[BOX_BYTES];
	char b64[sodium_base64_ENCODED_LEN(BOX_BYTES,
					   sodium_base64_VARIANT_ORIGINAL)];
	unsigned char *key = NULL;
	enum oa_mfa_error ret = OA_MFA_EIO;
	size_t len;
	unsigned i;
	int n;

	key = sodium_malloc(KEY_BYTES);
	if (key == NULL || user_key(store, user, key) < 0)
		goto out;
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	if (crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES,
				  rec->secret, OA_MFA_SECRET_BYTES, box,
				  key) < 0)
		goto out;
	sodium_bin2base64(b64, sizeof(b64), box, sizeof(box),
			  sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(text, size,
		     RECORD_MAGIC "\nkind=%s\ndigits=%u\nperiod=%u\n"
				  "secret=%s\ncounter=%" PRIu64
				  "\nfailures=%u\nfirst_failure=%" PRId64
				  "\nlocked_until=%" PRId64
				  "\nenrolled_at=%" PRId64 "\n",
		     rec->kind == OA_OTP_HOTP ? "hotp" : "totp", rec->digits,
		     rec->period, b64, rec->counter, rec->failures,
		     rec->first_failure, rec->locked_until, rec->enrolled_at);
	if (n < 0 || (size_t)n >= size)
		goto out;
	len = (size_t)n;
	for (i = 0; i < rec->n_recovery; i++) {
		n = snprintf(text + len, size - len, "recovery=%s\n",
			     rec->recovery[i][0] != '\0' ? rec->recovery[i]
							 : "-");
		if (n < 0 || (size_t)n >= size - len)
			goto out;
		len += (size_t)n;
	}
	ret = OA_MFA_OK;
out:
	sodium_free(key);
	return ret;
}

/* Temp file in the store folder, fsync, rename over, fsync the folder. */
static enum oa_mfa_error
write_record(struct oa_mfa_store *store, const char *user,
	     const struct oa_mfa_record *rec)
{
	char name[FILE_NAME_MAX], tmp[FILE_NAME_MAX + 24], suffix[17];
	char *text = NULL;
	enum oa_mfa_error ret = OA_MFA_EINVAL;
	int fd = -1;

	if (file_name(name, sizeof(name), user, ".mfa") < 0)
		return OA_MFA_EINVAL;
	random_suffix(suffix, sizeof(suffix));
	snprintf(tmp, sizeof(tmp), ".%s.tmp.%s", user, suffix);
	ret = OA_MFA_EIO;
	text = malloc(RECORD_MAX);
	if (text == NULL)
		goto out;
	ret = format_record(store, user, rec, text, RECORD_MAX);
	if (ret != OA_MFA_OK)
		goto out;
	ret = OA_MFA_EIO;
	fd = openat(store->dirfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (fchmod(fd, 0600) < 0 || write_all(fd, text, strlen(text)) < 0 ||
	    fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		unlinkat(store->dirfd, tmp, 0);
		goto out;
	}
	fd = -1;
	if (renameat(store->dirfd, tmp, store->dirfd, name) < 0) {
		unlinkat(store->dirfd, tmp, 0);
		goto out;
	}
	if (fsync(store->dirfd) < 0)
		goto out;
	ret = OA_MFA_OK;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	return ret;
}

/* Takes the user's lock; returns the descriptor to close, or -1. */
static enum oa_mfa_error
lock_user(struct oa_mfa_store *store, const char *user, int *lockfd)
{
	char name[FILE_NAME_MAX];
	struct stat st;
	int fd;

	*lockfd = -1;
	if (file_name(name, sizeof(name), user, ".lock") < 0)
		return OA_MFA_EINVAL;
	fd = openat(store->dirfd, name,
		    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return errno_error();
	if (fstat(fd, &st) < 0 || !private_file(&st)) {
		close(fd);
		return OA_MFA_EPERM;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return OA_MFA_EIO;
		}
	}
	*lockfd = fd;
	return OA_MFA_OK;
}

static void
unlock_user(int lockfd)
{
	if (lockfd >= 0)
		close(lockfd); /* drops the flock */
}

static void
base32(const unsigned char *in, size_t len, char *out)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned buffer = 0, bits = 0;
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		buffer = (buffer << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = alphabet[(buffer >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = alphabet[(buffer << (5 - bits)) & 31];
	out[o] = '\0';
	buffer = 0;
}

int
oa_mfa_secret_base32(const struct oa_mfa_record *rec, char *buf, size_t size)
{
	if (size < (OA_MFA_SECRET_BYTES * 8 + 4) / 5 + 1)
		return -1;
	base32(rec->secret, OA_MFA_SECRET_BYTES, buf);
	return 0;
}

static size_t
url_encode(char *out, size_t size, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0' && o + 4 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (isascii(c) && (isalnum(c) || strchr("-._~", c) != NULL)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

int
oa_mfa_uri(const struct oa_conf *conf, const char *user,
	   const struct oa_mfa_record *rec, char *buf, size_t size)
{
	char issuer[3 * OA_CONF_NAME_LEN + 1], name[3 * OA_MFA_USER_MAX + 1];
	char secret[64], extra[64];
	int n;

	url_encode(issuer, sizeof(issuer), conf->otp_issuer);
	url_encode(name, sizeof(name), user);
	base32(rec->secret, OA_MFA_SECRET_BYTES, secret);
	if (rec->kind == OA_OTP_HOTP)
		snprintf(extra, sizeof(extra), "counter=%" PRIu64,
			 rec->counter);
	else
		snprintf(extra, sizeof(extra), "period=%u", rec->period);
	n = snprintf(buf, size,
		     "otpauth://%s/%s:%s?secret=%s&issuer=%s&algorithm=SHA1"
		     "&digits=%u&%s",
		     rec->kind == OA_OTP_HOTP ? "hotp" : "totp", issuer, name,
		     secret, issuer, rec->digits, extra);
	sodium_memzero(secret, sizeof(secret));
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static bool
all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * Compares code with every candidate of the window, all of them, in
 * constant time.  used_too: match steps at or below rec->counter as well
 * (to tell a replay from a wrong code).
 */
static bool
match_otp(const struct oa_conf *conf, const struct oa_mfa_record *rec,
	  const char *code, time_t now, bool used_too, uint64_t *step)
{
	char otp[16];
	uint64_t first, last, s, found = 0;
	bool matched = false;
	int rc;

	if (strlen(code) != rec->digits || !all_digits(code, rec->digits))
		return false;
	if (oath_init() != OATH_OK)
		return false;
	if (rec->kind == OA_OTP_TOTP) {
		uint64_t cur = (uint64_t)now / rec->period;

		first = cur > conf->otp_window ? cur - conf->otp_window : 0;
		last = cur + conf->otp_window;
	} else {
		first = rec->counter;
		last = rec->counter + conf->otp_window;
	}
	for (s = first; s <= last; s++) {
		if (rec->kind == OA_OTP_TOTP)
			rc = oath_totp_generate(
			    (const char *)rec->secret, OA_MFA_SECRET_BYTES,
			    (time_t)(s * rec->period), rec->period, 0,
			    rec->digits, otp);
		else
			rc = oath_hotp_generate(
			    (const char *)rec->secret, OA_MFA_SECRET_BYTES, s,
			    rec->digits, false, OATH_HOTP_DYNAMIC_TRUNCATION,
			    otp);
		if (rc != OATH_OK)
			continue;
		if (sodium_memcmp(otp, code, rec->digits) == 0 && !matched &&
		    (used_too || rec->kind == OA_OTP_HOTP ||
		     s > rec->counter)) {
			matched = true;
			found = s;
		}
	}
	sodium_memzero(otp, sizeof(otp));
	if (matched)
		*step = found;
	return matched;
}

bool
oa_mfa_check_otp(const struct oa_conf *conf, const struct oa_mfa_record *rec,
		 const char *code, time_t now, uint64_t *step)
{
	return match_otp(conf, rec, code, now, false, step);
}

/*
 * A recovery code as typed (any case, spaces and dashes anywhere) in its
 * canonical form "NN-xxxxx-xxxxx"; returns its slot (0-based) or -1.
 */
static int
canonical_recovery(const char *in, char *out)
{
	char raw[13];
	size_t n = 0;
	int slot;

	for (; *in != '\0'; in++) {
		char c = (char)tolower((unsigned char)*in);

		if (c == ' ' || c == '-')
			continue;
		if (n == 12)
			return -1;
		raw[n++] = c;
	}
	if (n != 12 || !all_digits(raw, 2))
		return -1;
	for (n = 2; n < 12; n++)
		if (strchr(recovery_alphabet, raw[n]) == NULL || raw[n] == '\0')
			return -1;
	slot = (raw[0] - '0') * 10 + (raw[1] - '0') - 1;
	if (slot < 0)
		return -1;
	snprintf(out, OA_MFA_RECOVERY_LEN + 1, "%.2s-%.5s-%.5s", raw, raw + 2,
		 raw + 7);
	sodium_memzero(raw, sizeof(raw));
	return slot;
}

static bool
use_recovery(struct oa_mfa_record *rec, const char *code)
{
	char canon[OA_MFA_RECOVERY_LEN + 1];
	bool ok = false;
	int slot;

	slot = canonical_recovery(code, canon);
	if (slot < 0 || (unsigned)slot >= rec->n_recovery ||
	    rec->recovery[slot][0] == '\0')
		goto out;
	if (crypto_pwhash_str_verify(rec->recovery[slot], canon,
				     OA_MFA_RECOVERY_LEN) == 0) {
		rec->recovery[slot][0] = '\0';
		ok = true;
	}
out:
	sodium_memzero(canon, sizeof(canon));
	return ok;
}

void
oa_mfa_codes_free(struct oa_mfa_codes *codes)
{
	sodium_free(codes->code);
	codes->code = NULL;
	codes->n = 0;
}

void
oa_mfa_generate(const struct oa_conf *conf, struct oa_mfa_record *rec)
{
	unsigned char *secret = rec->secret;

	memset(rec, 0, sizeof(*rec));
	rec->secret = secret;
	rec->kind = conf->otp_kind;
	rec->digits = conf->otp_digits;
	rec->period = conf->otp_period;
	rec->enrolled_at = (int64_t)time(NULL);
	randombytes_buf(rec->secret, OA_MFA_SECRET_BYTES);
}

enum oa_mfa_error
oa_mfa_recovery_codes(const struct oa_conf *conf, struct oa_mfa_record *rec,
		      struct oa_mfa_codes *codes)
{
	unsigned i, j;
	char *c;

	codes->n = 0;
	codes->code = NULL;
	rec->n_recovery = 0;
	if (conf->recovery_codes == 0)
		return OA_MFA_OK;
	codes->code =
	    sodium_malloc(conf->recovery_codes * sizeof(codes->code[0]));
	if (codes->code == NULL)
		return OA_MFA_EIO;
	for (i = 0; i < conf->recovery_codes && i < OA_MFA_MAX_RECOVERY; i++) {
		c = codes->code[i];
		snprintf(c, 4, "%02u-", i + 1);
		for (j = 3; j < OA_MFA_RECOVERY_LEN; j++)
			c[j] = j == 8 ? '-'
				      : recovery_alphabet[randombytes_uniform(
					    sizeof(recovery_alphabet) - 1)];
		c[OA_MFA_RECOVERY_LEN] = '\0';
		if (crypto_pwhash_str_alg(rec->recovery[i], c,
					  OA_MFA_RECOVERY_LEN,
					  crypto_pwhash_OPSLIMIT_INTERACTIVE,
					  crypto_pwhash_MEMLIMIT_INTERACTIVE,
					  crypto_pwhash_ALG_ARGON2ID13) < 0) {
			oa_mfa_codes_free(codes);
			rec->n_recovery = 0;
			return OA_MFA_EIO;
		}
		codes->n = i + 1;
		rec->n_recovery = i + 1;
	}
	return OA_MFA_OK;
}

enum oa_mfa_error
oa_mfa_enrol(struct oa_mfa_store *store, const char *user,
	     struct oa_mfa_record *rec, bool replace)
{
	enum oa_mfa_error ret;
	int lockfd;

	ret = lock_user(store, user, &lockfd);
	if (ret != OA_MFA_OK)
		return ret;
	ret = oa_mfa_enrolled(store, user);
	if (ret == OA_MFA_OK && !replace) {
		ret = OA_MFA_EEXIST;
		goto out;
	}
	if (ret != OA_MFA_OK && ret != OA_MFA_ENOENT)
		goto out;
	ret = write_record(store, user, rec);
out:
	unlock_user(lockfd);
	return ret;
}

static void
count_failure(const struct oa_conf *conf, struct oa_mfa_record *rec, time_t now,
	      int64_t *locked_until)
{
	if (rec->failures == 0)
		rec->first_failure = now;
	rec->failures++;
	if (rec->failures >= conf->lockout_failures) {
		rec->locked_until = (int64_t)now + conf->lockout_duration;
		rec->failures = 0;
		rec->first_failure = 0;
		*locked_until = rec->locked_until;
	}
}

enum oa_mfa_error
oa_mfa_verify(struct oa_mfa_store *store, const struct oa_conf *conf,
	      const char *user, const char *code, time_t now,
	      enum oa_mfa_verdict *verdict, int64_t *locked_until)
{
	struct oa_mfa_record rec;
	enum oa_mfa_error ret;
	uint64_t step;
	int lockfd = -1;

	*verdict = OA_MFA_REJECTED;
	*locked_until = 0;
	if (oa_mfa_record_init(&rec) < 0)
		return OA_MFA_EIO;
	/* Lock first: the check and the record of the step are one step. */
	ret = lock_user(store, user, &lockfd);
	if (ret != OA_MFA_OK)
		goto out;
	ret = read_record(store, user, &rec);
	if (ret != OA_MFA_OK)
		goto out;
	if (rec.locked_until > (int64_t)now) {
		*verdict = OA_MFA_LOCKED;
		*locked_until = rec.locked_until;
		goto out;
	}
	rec.locked_until = 0;
	if (rec.failures > 0 &&
	    rec.first_failure + (int64_t)conf->lockout_window <= (int64_t)now) {
		rec.failures = 0;
		rec.first_failure = 0;
	}
	if (match_otp(conf, &rec, code, now, false, &step)) {
		*verdict = OA_MFA_ACCEPTED;
		rec.counter = rec.kind == OA_OTP_TOTP ? step : step + 1;
	} else if (rec.kind == OA_OTP_TOTP &&
		   match_otp(conf, &rec, code, now, true, &step)) {
		*verdict = OA_MFA_REPLAYED;
	} else if (use_recovery(&rec, code)) {
		*verdict = OA_MFA_ACCEPTED_RECOVERY;
	}
	if (*verdict == OA_MFA_ACCEPTED ||
	    *verdict == OA_MFA_ACCEPTED_RECOVERY) {
		rec.failures = 0;
		rec.first_failure = 0;
	} else {
		count_failure(conf, &rec, now, locked_until);
	}
	/* Recorded before anyone is let in; a failed write lets no one in. */
	ret = write_record(store, user, &rec);
	if (ret != OA_MFA_OK)
		*verdict = OA_MFA_REJECTED;
out:
	unlock_user(lockfd);
	oa_mfa_record_free(&rec);
	return ret;
}

enum oa_mfa_error
oa_mfa_remove(struct oa_mfa_store *store, const char *user)
{
	char name[FILE_NAME_MAX];
	enum oa_mfa_error ret;
	int lockfd;

	if (file_name(name, sizeof(name), user, ".mfa") < 0)
		return OA_MFA_EINVAL;
	ret = lock_user(store, user, &lockfd);
	if (ret != OA_MFA_OK)
		return ret;
	if (unlinkat(store->dirfd, name, 0) < 0)
		ret = errno == ENOENT ? OA_MFA_ENOENT : OA_MFA_EIO;
	else if (fsync(store->dirfd) < 0)
		ret = OA_MFA_EIO;
	unlock_user(lockfd);
	return ret;
}

enum oa_mfa_error
oa_mfa_unlock(struct oa_mfa_store *store, const char *user)
{
	struct oa_mfa_record rec;
	enum oa_mfa_error ret;
	int lockfd = -1;

	if (oa_mfa_record_init(&rec) < 0)
		return OA_MFA_EIO;
	ret = lock_user(store, user, &lockfd);
	if (ret != OA_MFA_OK)
		goto out;
	ret = read_record(store, user, &rec);
	if (ret != OA_MFA_OK)
		goto out;
	rec.failures = 0;
	rec.first_failure = 0;
	rec.locked_until = 0;
	ret = write_record(store, user, &rec);
out:
	unlock_user(lockfd);
	oa_mfa_record_free(&rec);
	return ret;
}

int
oa_mfa_each_user(struct oa_mfa_store *store,
		 int (*fn)(void *ctx, const char *user), void *ctx)
{
	char user[FILE_NAME_MAX];
	struct dirent *de;
	DIR *dir;
	size_t len;
	int fd, ret = 0;

	fd = openat(store->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	dir = fdopendir(fd);
	if (dir == NULL) {
		close(fd);
		return -1;
	}
	while (ret == 0 && (de = readdir(dir)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 4 || len >= sizeof(user) ||
		    strcmp(de->d_name + len - 4, ".mfa") != 0)
			continue;
		memcpy(user, de->d_name, len - 4);
		user[len - 4] = '\0';
		if (oa_mfa_valid_user(user))
			ret = fn(ctx, user);
	}
	closedir(dir);
	return ret;
}
