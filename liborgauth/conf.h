/*
 * orgauth.conf: the one configuration file shared by orgauthctl, the PAM
 * module and the NSS module.  The parser allocates nothing and keeps every
 * value in fixed-size fields, so the NSS module may use it too.
 */
#ifndef ORGAUTH_CONF_H
#define ORGAUTH_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define OA_CONF_PATH_LEN 512
#define OA_CONF_NAME_LEN 64
#define OA_CONF_TEXT_LEN 1024

enum oa_dir_source { OA_DIR_LDIF, OA_DIR_LDAP };
/* Which organisations' MFA requirement applies to a login. */
enum oa_mfa_scope { OA_MFA_SCOPE_ANY, OA_MFA_SCOPE_HOST };
/* What happens to a user who needs MFA and has none enrolled. */
enum oa_mfa_unenrolled { OA_UNENROLLED_ENROL, OA_UNENROLLED_DENY };
/* What the PAM module does with a user who is not in the cache. */
enum oa_unknown_user { OA_UNKNOWN_IGNORE, OA_UNKNOWN_DENY };
enum oa_otp_kind { OA_OTP_TOTP, OA_OTP_HOTP };

/* Roles a user can hold in an organisation; bit values for allowed_roles. */
enum oa_org_role {
	OA_ROLE_ADMIN = 1u << 0,
	OA_ROLE_MEMBER = 1u << 1,
	OA_ROLE_WORKFORCE = 1u << 2,
};
#define OA_ROLE_ALL (OA_ROLE_ADMIN | OA_ROLE_MEMBER | OA_ROLE_WORKFORCE)

/*
 * Attribute and object-class names: one mapping used by the LDIF and the
 * LDAP source alike, so a site can point it at attributes it already has.
 */
struct oa_conf_mapping {
	char user_class[OA_CONF_NAME_LEN];
	char user_name[OA_CONF_NAME_LEN];
	char uid_number[OA_CONF_NAME_LEN];
	char gid_number[OA_CONF_NAME_LEN];
	char gecos[OA_CONF_NAME_LEN];
	char home[OA_CONF_NAME_LEN];
	char shell[OA_CONF_NAME_LEN];
	char org_class[OA_CONF_NAME_LEN];
	char org_name[OA_CONF_NAME_LEN];
	char org_workforce[OA_CONF_NAME_LEN];
	char org_mfa_required[OA_CONF_NAME_LEN];
	char org_admin[OA_CONF_NAME_LEN];
	char org_member[OA_CONF_NAME_LEN];
	char project_class[OA_CONF_NAME_LEN];
	char dataset_class[OA_CONF_NAME_LEN];
	char entity_name[OA_CONF_NAME_LEN];
	char owner[OA_CONF_NAME_LEN];
	char role_admin[OA_CONF_NAME_LEN];
	char role_team_manager[OA_CONF_NAME_LEN];
	char role_reviewer[OA_CONF_NAME_LEN];
	char role_annotator[OA_CONF_NAME_LEN];
	char role_annotator_reviewer[OA_CONF_NAME_LEN];
	char role_dataset_user[OA_CONF_NAME_LEN];
	char mfa_secret[OA_CONF_NAME_LEN];
};

struct oa_conf {
	char loaded_from[OA_CONF_PATH_LEN];
	/* The file was owned by root or the caller (effective uid) and not
	 * writable by group or others: pam_orgauth trusts nothing else. */
	bool loaded_safe;

	/* directory */
	enum oa_dir_source directory_source;
	char directory_ldif[OA_CONF_PATH_LEN];

	/* state */
	char cache_file[OA_CONF_PATH_LEN];
	char mfa_dir[OA_CONF_PATH_LEN];
	char host_key_file[OA_CONF_PATH_LEN];

	/* groups; templates expand %o organisation, %r role, %n name */
	char role_group_template[OA_CONF_NAME_LEN];
	char project_group_template[OA_CONF_NAME_LEN];
	char dataset_group_template[OA_CONF_NAME_LEN];
	uint32_t gid_min;
	uint32_t gid_max;

	/* this host */
	char host_organisation[OA_CONF_NAME_LEN];
	unsigned allowed_roles; /* OA_ROLE_* bits */
	char required_project[OA_CONF_NAME_LEN];
	char required_dataset[OA_CONF_NAME_LEN];
	enum oa_unknown_user unknown_users;

	/* MFA */
	enum oa_mfa_scope mfa_scope;
	enum oa_mfa_unenrolled mfa_unenrolled;
	time_t mfa_grace_until; /* 0: no grace period */
	enum oa_otp_kind otp_kind;
	unsigned otp_digits;
	unsigned otp_period;
	unsigned otp_window;
	unsigned lockout_failures;
	unsigned lockout_window;
	unsigned lockout_duration;
	unsigned recovery_codes;
	char otp_issuer[OA_CONF_NAME_LEN];

	/* LDAP source */
	char ldap_uri[OA_CONF_TEXT_LEN]; /* space-separated, tried in order */
	char ldap_base[OA_CONF_TEXT_LEN];
	char ldap_bind_dn[OA_CONF_TEXT_LEN];
	char ldap_bind_password_file[OA_CONF_PATH_LEN];
	char ldap_ca_file[OA_CONF_PATH_LEN];
	char ldap_ca_dir[OA_CONF_PATH_LEN];
	bool ldap_starttls;
	bool ldap_allow_plaintext;
	unsigned ldap_connect_timeout;
	unsigned ldap_timeout;
	unsigned ldap_page_size; /* 0: no paged results */
	/* per-class search bases (empty: ldap_base) and extra filters */
	char ldap_user_base[OA_CONF_TEXT_LEN];
	char ldap_org_base[OA_CONF_TEXT_LEN];
	char ldap_project_base[OA_CONF_TEXT_LEN];
	char ldap_dataset_base[OA_CONF_TEXT_LEN];
	char ldap_user_filter[OA_CONF_TEXT_LEN];
	char ldap_org_filter[OA_CONF_TEXT_LEN];
	char ldap_project_filter[OA_CONF_TEXT_LEN];
	char ldap_dataset_filter[OA_CONF_TEXT_LEN];

	struct oa_conf_mapping map;
};

/*
 * Called once per problem found; file and line say where (line 0: the
 * file as a whole).
 */
typedef void oa_conf_report_fn(void *ctx, const char *file, unsigned line,
			       const char *message);

/* Fills conf with the built-in defaults. */
void oa_conf_defaults(struct oa_conf *conf);

/*
 * Loads path over the defaults.  Every problem is reported, not only the
 * first.  Returns 0 when the file was read and valid, -1 otherwise (conf
 * then holds defaults and whatever parsed; do not use it).
 */
int oa_conf_load(struct oa_conf *conf, const char *path,
		 oa_conf_report_fn *report, void *ctx);

/* "admin", "member", "workforce"; NULL for a value that is not one role. */
const char *oa_role_name(enum oa_org_role role);

/* The built-in configuration path (see configure --with-confdir). */
const char *oa_conf_default_path(void);

#endif
