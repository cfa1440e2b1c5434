/*
 * The MFA secret store: one record per user under conf->mfa_dir, the OTP
 * secret encrypted with crypto_secretbox under a host key, the recovery
 * codes hashed with Argon2id.  Used by the PAM module and orgauthctl.
 *
 * Every file is root-owned and unreadable by others; a record, the host
 * key or the folder that is not is refused (OA_MFA_EPERM), never repaired.
 * Records are replaced atomically and read without following symlinks.
 * A per-user lock file serialises the read-check-write of a login, so a
 * time step is accepted at most once even when logins race.
 *
 * The library logs nothing: callers turn the errors into their one line.
 */
#ifndef ORGAUTH_MFA_STORE_H
#define ORGAUTH_MFA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"

#define OA_MFA_SECRET_BYTES 20 /* 160 bits, as RFC 4226 recommends */
#define OA_MFA_MAX_RECOVERY 50
/* "NN-xxxxx-xxxxx": slot number, then 50 random bits */
#define OA_MFA_RECOVERY_LEN 14
#define OA_MFA_HASH_LEN	    128 /* crypto_pwhash_STRBYTES */
#define OA_MFA_URI_LEN	    1024
#define OA_MFA_USER_MAX	    64

enum oa_mfa_error {
	OA_MFA_OK = 0,
	OA_MFA_ENOENT,	/* the user has no record */
	OA_MFA_EINVAL,	/* a user name that cannot name a file */
	OA_MFA_EIO,	/* a system call failed (errno kept) */
	OA_MFA_EPERM,	/* wrong owner or mode, a symlink, not a file */
	OA_MFA_EFORMAT, /* the record or host key is corrupt */
	OA_MFA_ECRYPTO, /* the secret does not decrypt under the host key */
	OA_MFA_EEXIST,	/* already enrolled */
};

struct oa_mfa_record {
	enum oa_otp_kind kind;
	unsigned digits;
	unsigned period;       /* TOTP */
	unsigned char *secret; /* sodium_malloc'd, wiped on free */
	uint64_t counter;      /* TOTP: last step used; HOTP: next */
	unsigned failures;     /* in the current window */
	int64_t first_failure; /* start of that window */
	int64_t locked_until;  /* 0: not locked */
	int64_t enrolled_at;   /* epoch seconds */
	unsigned n_recovery;   /* slots, used or not */
	char recovery[OA_MFA_MAX_RECOVERY][OA_MFA_HASH_LEN]; /* "" = used */
};

/* Plain recovery codes, for showing once; kept in a sodium_malloc'd block. */
struct oa_mfa_codes {
	unsigned n;
	char (*code)[OA_MFA_RECOVERY_LEN + 1];
};

enum oa_mfa_verdict {
	OA_MFA_ACCEPTED,	  /* a valid, unused OTP */
	OA_MFA_ACCEPTED_RECOVERY, /* a valid recovery code, now spent */
	OA_MFA_REJECTED,	  /* wrong code (counted) */
	OA_MFA_REPLAYED,	  /* a code of a step already used (counted) */
	OA_MFA_LOCKED,		  /* locked out; the code was not looked at */
};

struct oa_mfa_store;

const char *oa_mfa_strerror(enum oa_mfa_error err);
const char *oa_mfa_verdict_name(enum oa_mfa_verdict verdict);

/* True when name can be a record's name: [A-Za-z0-9._-], no leading dot. */
bool oa_mfa_valid_user(const char *name);

/*
 * Opens the store folder (creating it, mode 0700, when it is missing) and
 * loads the host key (creating it from randombytes when it is missing).
 * *out is NULL on failure.
 */
enum oa_mfa_error oa_mfa_store_open(const struct oa_conf *conf,
				    struct oa_mfa_store **out);
void oa_mfa_store_close(struct oa_mfa_store *store);

/* Records: init before use, free after (wipes the secret). */
int oa_mfa_record_init(struct oa_mfa_record *rec);
void oa_mfa_record_free(struct oa_mfa_record *rec);

/* Whether user has a record (OA_MFA_OK) or not (OA_MFA_ENOENT). */
enum oa_mfa_error oa_mfa_enrolled(struct oa_mfa_store *store, const char *user);

/* Reads a record without taking the lock (for status displays). */
enum oa_mfa_error oa_mfa_read(struct oa_mfa_store *store, const char *user,
			      struct oa_mfa_record *rec);

/* A new record: a random secret, kind, digits and period from conf. */
void oa_mfa_generate(const struct oa_conf *conf, struct oa_mfa_record *rec);

/*
 * conf->recovery_codes new recovery codes for rec: their Argon2id hashes
 * in rec, the plain codes in codes (free with oa_mfa_codes_free).  Slow
 * by design (about 0.1 s and 64 MiB a code), so made once the secret is
 * confirmed.
 */
enum oa_mfa_error oa_mfa_recovery_codes(const struct oa_conf *conf,
					struct oa_mfa_record *rec,
					struct oa_mfa_codes *codes);
void oa_mfa_codes_free(struct oa_mfa_codes *codes);

/* The otpauth:// URI of rec, and the secret alone in base32. */
int oa_mfa_uri(const struct oa_conf *conf, const char *user,
	       const struct oa_mfa_record *rec, char *buf, size_t size);
int oa_mfa_secret_base32(const struct oa_mfa_record *rec, char *buf,
			 size_t size);

/*
 * Checks an OTP against rec at time now, the window from conf, without
 * touching the store.  On a match returns true and sets *step to the
 * matched time step (TOTP) or counter (HOTP); codes are compared in
 * constant time.  Steps at or below rec->counter (TOTP) are not matched.
 */
bool oa_mfa_check_otp(const struct oa_conf *conf,
		      const struct oa_mfa_record *rec, const char *code,
		      time_t now, uint64_t *step);

/*
 * Stores a confirmed new record; rec->counter should hold the step just
 * confirmed so that the code cannot be used again.  OA_MFA_EEXIST when the
 * user is enrolled already, unless replace.
 */
enum oa_mfa_error oa_mfa_enrol(struct oa_mfa_store *store, const char *user,
			       struct oa_mfa_record *rec, bool replace);

/*
 * One login's second factor, under the user's lock: refuses while locked,
 * checks code as an OTP or a recovery code, records the step used or the
 * failure (and starts a lockout when there are too many), then unlocks.
 * *verdict says what happened; *locked_until is set for OA_MFA_LOCKED and
 * when this failure started a lockout (else 0).
 */
enum oa_mfa_error oa_mfa_verify(struct oa_mfa_store *store,
				const struct oa_conf *conf, const char *user,
				const char *code, time_t now,
				enum oa_mfa_verdict *verdict,
				int64_t *locked_until);

/* Removes a user's record.  OA_MFA_ENOENT when there was none. */
enum oa_mfa_error oa_mfa_remove(struct oa_mfa_store *store, const char *user);

/* Clears the failure count and any lockout. */
enum oa_mfa_error oa_mfa_unlock(struct oa_mfa_store *store, const char *user);

/* Unused recovery codes left in rec. */
unsigned oa_mfa_recovery_left(const struct oa_mfa_record *rec);

/*
 * Calls fn for every record's user name, in no particular order; stops
 * at the first non-zero return, which it returns.
 */
int oa_mfa_each_user(struct oa_mfa_store *store,
		     int (*fn)(void *ctx, const char *user), void *ctx);

#endif
