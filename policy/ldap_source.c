/*
 * The LDAP directory source: reads organisations, users, projects and
 * datasets from an LDAP server and hands every entry to oa_dir_add_entry(),
 * the mapping the LDIF source uses too.
 *
 * A load either reads the directory whole or fails: a size or time limit,
 * a referral we do not follow, a lost connection or any other partial read
 * is an error naming the server, so that the caller keeps its last good
 * cache instead of compiling a truncated directory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lber.h>
#include <ldap.h>
#include <sodium.h>

#include "directory.h"
#include "ldap_source.h"

#define PASSWORD_MAX 512
#define FILTER_MAX   8192
#define MESSAGE_MAX  4096
#define WHY_MAX	     1024

ssize_t
oa_ldap_escape_value(char *out, size_t outsize, const char *value, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (outsize == 0)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		bool special =
		    c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0';

		if (o + (special ? 3 : 1) >= outsize) {
			out[0] = '\0';
			return -1;
		}
		if (special) {
			out[o++] = '\\';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0x0f];
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return (ssize_t)o;
}

/*
 * True when text is one parenthesised filter item: balanced, and closed
 * only by its last character.  (In a filter, a parenthesis inside a value
 * is written \28 or \29, so every raw one is structure.)
 */
static bool
one_item(const char *text, size_t len)
{
	size_t i, depth = 0;

	if (len < 2 || text[0] != '(')
		return false;
	for (i = 0; i < len; i++) {
		if (text[i] == '(') {
			depth++;
		} else if (text[i] == ')') {
			if (depth == 0)
				return false;
			if (--depth == 0 && i != len - 1)
				return false;
		}
	}
	return depth == 0;
}

int
oa_ldap_class_filter(char *out, size_t outsize, const char *object_class,
		     const char *extra)
{
	char escaped[3 * OA_CONF_NAME_LEN + 1];
	size_t extra_len = extra != NULL ? strlen(extra) : 0;
	int n;

	if (oa_ldap_escape_value(escaped, sizeof(escaped), object_class,
				 strlen(object_class)) < 0)
		goto fail;
	/* The extra filter is the administrator's, used as written; but as
	 * one item, it cannot close our '&' early. */
	if (extra_len > 0 && !one_item(extra, extra_len))
		goto fail;
	n = snprintf(out, outsize, "(&(objectClass=%s)%s)", escaped,
		     extra_len > 0 ? extra : "");
	if (n < 0 || (size_t)n >= outsize)
		goto fail;
	return 0;
fail:
	if (outsize > 0)
		out[0] = '\0';
	return -1;
}

/* The DNs already mapped, so an entry found by two searches counts once. */
struct dn_set {
	char **slots;
	size_t size; /* a power of two */
	size_t used;
};

static size_t
dn_hash(const char *s)
{
	size_t h = 5381;

	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static void
dn_set_free(struct dn_set *set)
{
	size_t i;

	for (i = 0; i < set->size; i++)
		free(set->slots[i]);
	free(set->slots);
	memset(set, 0, sizeof(*set));
}

/* Returns 1 when dn was added, 0 when it was there, -1 without memory. */
static int
dn_set_add(struct dn_set *set, const char *dn)
{
	size_t i;

	if (2 * (set->used + 1) > set->size) {
		size_t size = set->size == 0 ? 256 : 2 * set->size;
		char **slots = calloc(size, sizeof(*slots));

		if (slots == NULL)
			return -1;
		for (i = 0; i < set->size; i++) {
			size_t j;

			if (set->slots[i] == NULL)
				continue;
			j = dn_hash(set->slots[i]) & (size - 1);
			while (slots[j] != NULL)
				j = (j + 1) & (size - 1);
			slots[j] = set->slots[i];
		}
		free(set->slots);
		set->slots = slots;
		set->size = size;
	}
	i = dn_hash(dn) & (set->size - 1);
	while (set->slots[i] != NULL) {
		if (strcmp(set->slots[i], dn) == 0)
			return 0;
		i = (i + 1) & (set->size - 1);
	}
	set->slots[i] = strdup(dn);
	if (set->slots[i] == NULL)
		return -1;
	set->used++;
	return 1;
}

struct ldap_run {
	struct oa_directory *dir;
	const struct oa_conf *conf;
	oa_dir_report_fn *report;
	void *ctx;
	const char *uri; /* the server in use */
	LDAP *ld;
	struct dn_set seen;
	unsigned long entries;
};

static void run_report(struct ldap_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
run_report(struct ldap_run *run, const char *fmt, ...)
{
	struct oa_origin origin = {run->uri, 0};
	char msg[MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	run->report(run->ctx, &origin, NULL, msg);
}

/*
 * "Error text (server's diagnostic)" for the last operation on ld; a
 * timeout names the setting that set it.
 */
static void
describe(LDAP *ld, int rc, const struct oa_conf *conf, char *buf, size_t size)
{
	char *diag = NULL;
	int n;

	if (ld != NULL)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	/* libldap's placeholder for "no diagnostic" says nothing. */
	if (diag != NULL && diag[0] != '\0' &&
	    strcmp(diag, "(unknown error code)") != 0)
		n = snprintf(buf, size, "%s (%s)", ldap_err2string(rc), diag);
	else
		n = snprintf(buf, size, "%s", ldap_err2string(rc));
	ldap_memfree(diag);
	if (rc == LDAP_TIMEOUT && n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n,
			 " (no answer within ldap_timeout = %u s)",
			 conf->ldap_timeout);
}

/*
 * Reads the bind password.  The file must be a regular file owned by root
 * or by us and unreadable to group and others: a password anyone can read
 * is no secret, and using it would hide the mistake.
 */
static int
read_password(const char *path, char *buf, size_t size, size_t *len, char *err,
	      size_t errsize)
{
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errsize, "bind password file %s: %s", path,
			 strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsize,
			 "bind password file %s: not a regular file", path);
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errsize,
			 "bind password file %s: owned by uid %u, not by root "
			 "or uid %u; refused",
			 path, (unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(
		    err, errsize,
		    "bind password file %s: mode %04o lets group or others "
		    "in; refused (chmod 0600)",
		    path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	for (;;) {
		r = read(fd, buf + n, size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errsize, "bind password file %s: %s",
				 path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == size) {
			snprintf(err, errsize,
				 "bind password file %s: longer than %zu "
				 "bytes",
				 path, size - 1);
			goto out;
		}
	}
	/* One trailing line end is the editor's, not the password's. */
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n == 0) {
		snprintf(err, errsize, "bind password file %s: empty", path);
		goto out;
	}
	buf[n] = '\0';
	*len = n;
	ret = 0;
out:
	if (ret < 0)
		sodium_memzero(buf, size);
	if (fd >= 0)
		close(fd);
	return ret;
}

static int
set_tls_options(LDAP *ld, const struct oa_conf *conf, char *err, size_t errsize)
{
	int demand = LDAP_OPT_X_TLS_DEMAND;
	int tls_min = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
	int client = 0;

	if (conf->ldap_ca_file[0] != '\0' &&
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE,
			    conf->ldap_ca_file) != LDAP_OPT_SUCCESS)
		goto fail;
	if (conf->ldap_ca_dir[0] != '\0' &&
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTDIR, conf->ldap_ca_dir) !=
		LDAP_OPT_SUCCESS)
		goto fail;
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) !=
		LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls_min) !=
		LDAP_OPT_SUCCESS)
		goto fail;
	/* A context of this connection's own: the options above apply to it
	 * and not to libldap's global defaults from ldap.conf. */
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &client) !=
	    LDAP_OPT_SUCCESS) {
		snprintf(err, errsize,
			 "cannot set up TLS (CA file %s, CA folder %s)",
			 conf->ldap_ca_file[0] ? conf->ldap_ca_file : "-",
			 conf->ldap_ca_dir[0] ? conf->ldap_ca_dir : "-");
		return -1;
	}
	return 0;
fail:
	snprintf(err, errsize, "cannot set the TLS options");
	return -1;
}

/*
 * A timer for the TLS handshake.  libldap (2.5, GnuTLS) spins forever on a
 * non-blocking socket when the peer accepts the connection but never
 * answers the handshake, and has no timeout of its own for it; so the
 * handshake runs on a blocking socket, and when the time is up this
 * thread shuts the socket down, which ends the handshake with an error.
 */
struct watchdog {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct timespec deadline; /* CLOCK_MONOTONIC */
	int fd;
	bool done;
	bool fired;
};

static void *
watchdog_run(void *arg)
{
	struct watchdog *wd = arg;

	pthread_mutex_lock(&wd->lock);
	while (!wd->done) {
		if (pthread_cond_timedwait(&wd->wake, &wd->lock,
					   &wd->deadline) == ETIMEDOUT &&
		    !wd->done) {
			shutdown(wd->fd, SHUT_RDWR);
			wd->fired = true;
			break;
		}
	}
	pthread_mutex_unlock(&wd->lock);
	return NULL;
}

static int
watchdog_start(struct watchdog *wd, int fd, unsigned seconds)
{
	pthread_condattr_t attr;
	int ret = -1;

	memset(wd, 0, sizeof(*wd));
	wd->fd = fd;
	if (clock_gettime(CLOCK_MONOTONIC, &wd->deadline) < 0)
		return -1;
	wd->deadline.tv_sec += (time_t)seconds;
	if (pthread_condattr_init(&attr) != 0)
		return -1;
	if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&wd->wake, &attr) != 0)
		goto out;
	if (pthread_mutex_init(&wd->lock, NULL) != 0) {
		pthread_cond_destroy(&wd->wake);
		goto out;
	}
	if (pthread_create(&wd->thread, NULL, watchdog_run, wd) != 0) {
		pthread_mutex_destroy(&wd->lock);
		pthread_cond_destroy(&wd->wake);
		goto out;
	}
	ret = 0;
out:
	pthread_condattr_destroy(&attr);
	return ret;
}

/* Stops the timer; true when it fired (the socket is then shut down). */
static bool
watchdog_stop(struct watchdog *wd)
{
	pthread_mutex_lock(&wd->lock);
	wd->done = true;
	pthread_cond_signal(&wd->wake);
	pthread_mutex_unlock(&wd->lock);
	pthread_join(wd->thread, NULL);
	pthread_mutex_destroy(&wd->lock);
	pthread_cond_destroy(&wd->wake);
	return wd->fired;
}

/*
 * The URI libldap connects with.  For ldaps:// it is the same server as
 * ldap://host:port, so that the connection is made first and TLS is then
 * started on it under our timer (the host name is still the one the
 * certificate must carry).
 */
static int
plain_uri(const char *uri, bool ldaps, char *out, size_t size, char *err,
	  size_t errsize)
{
	LDAPURLDesc *lud = NULL;
	int n, rc;

	if (!ldaps) {
		n = snprintf(out, size, "%s", uri);
		return n < 0 || (size_t)n >= size ? -1 : 0;
	}
	rc = ldap_url_parse(uri, &lud);
	if (rc != LDAP_URL_SUCCESS || lud->lud_host == NULL ||
	    lud->lud_host[0] == '\0') {
		snprintf(err, errsize, "bad URI (no host)");
		if (lud != NULL)
			ldap_free_urldesc(lud);
		return -1;
	}
	/* A numeric IPv6 address goes in brackets. */
	n = snprintf(out, size,
		     strchr(lud->lud_host, ':') != NULL ? "ldap://[%s]:%d"
							: "ldap://%s:%d",
		     lud->lud_host,
		     lud->lud_port > 0 ? lud->lud_port : LDAPS_PORT);
	ldap_free_urldesc(lud);
	if (n < 0 || (size_t)n >= size) {
		snprintf(err, errsize, "URI too long");
		return -1;
	}
	return 0;
}

/* TLS on the connected handle: the ldaps:// handshake or StartTLS. */
static int
secure_connection(LDAP *ld, const struct oa_conf *conf, bool ldaps, char *err,
		  size_t errsize)
{
	static const char tls_hint[] =
	    " (is the server's certificate signed by a CA of ldap_ca_file "
	    "or ldap_ca_dir, and issued for the host name of the URI?)";
	const char *step = ldaps ? "TLS handshake failed" : "StartTLS failed";
	struct watchdog wd;
	char why[WHY_MAX];
	bool fired;
	int fd = -1, rc;

	if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS ||
	    fd < 0 || watchdog_start(&wd, fd, conf->ldap_timeout) < 0) {
		snprintf(err, errsize, "%s: cannot set up its timer", step);
		return -1;
	}
	rc = ldaps ? ldap_install_tls(ld) : ldap_start_tls_s(ld, NULL, NULL);
	fired = watchdog_stop(&wd);
	if (rc == LDAP_SUCCESS && !fired)
		return 0;
	if (fired) {
		snprintf(err, errsize,
			 "%s: no answer within ldap_timeout = %u s", step,
			 conf->ldap_timeout);
	} else {
		describe(ld, rc, conf, why, sizeof(why));
		snprintf(err, errsize, "%s: %s%s", step, why,
			 rc == LDAP_CONNECT_ERROR || rc == LDAP_SERVER_DOWN
			     ? tls_hint
			     : "");
	}
	return -1;
}

/*
 * Connects to one server, secures the connection and binds.  Returns the
 * handle, or NULL with the reason in err.
 */
static LDAP *
connect_server(const struct oa_conf *conf, const char *uri, struct berval *cred,
	       char *err, size_t errsize)
{
	struct timeval net = {(time_t)conf->ldap_connect_timeout, 0};
	struct timeval op = {(time_t)conf->ldap_timeout, 0};
	struct timeval blocking = {-1, 0};
	struct berval anonymous = {0, NULL};
	int version = LDAP_VERSION3, deref = LDAP_DEREF_NEVER;
	char handle_uri[OA_CONF_TEXT_LEN + 32];
	char why[WHY_MAX];
	LDAP *ld = NULL;
	bool ldaps;
	int rc, fd = -1, flags;

	if (strncasecmp(uri, "ldaps://", 8) == 0) {
		ldaps = true;
	} else if (strncasecmp(uri, "ldap://", 7) == 0) {
		ldaps = false;
	} else {
		snprintf(err, errsize, "not an ldap:// or ldaps:// URI");
		goto fail;
	}
	if (!ldaps && !conf->ldap_starttls && !conf->ldap_allow_plaintext) {
		snprintf(err, errsize,
			 "ldap:// without StartTLS is refused: set "
			 "ldap_starttls = yes, use ldaps://, or set "
			 "ldap_allow_plaintext = yes");
		goto fail;
	}
	if (plain_uri(uri, ldaps, handle_uri, sizeof(handle_uri), err,
		      errsize) < 0)
		goto fail;
	rc = ldap_initialize(&ld, handle_uri);
	if (rc != LDAP_SUCCESS) {
		snprintf(err, errsize, "bad URI: %s", ldap_err2string(rc));
		goto fail;
	}
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) !=
		LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) !=
		LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_DEREF, &deref) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON) !=
		LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &net) !=
		LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &op) != LDAP_OPT_SUCCESS) {
		snprintf(err, errsize, "cannot set the connection options");
		goto fail;
	}
	if ((ldaps || conf->ldap_starttls) &&
	    set_tls_options(ld, conf, err, errsize) < 0)
		goto fail;
	/* The TCP connection alone (handle_uri is never ldaps://), bounded
	 * by ldap_connect_timeout; then a blocking socket for the TLS
	 * handshake (see struct watchdog). */
	rc = ldap_connect(ld);
	if (rc != LDAP_SUCCESS) {
		describe(ld, rc, conf, why, sizeof(why));
		snprintf(err, errsize, "cannot connect: %s", why);
		goto fail;
	}
	if (ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &blocking) !=
	    LDAP_OPT_SUCCESS) {
		snprintf(err, errsize, "cannot set the connection options");
		goto fail;
	}
	if ((ldaps || conf->ldap_starttls) &&
	    secure_connection(ld, conf, ldaps, err, errsize) < 0)
		goto fail;
	/* From here on every wait is ldap_result()'s, which times out only
	 * on a non-blocking socket: on a blocking one, an answer cut short
	 * would block in read() for ever. */
	if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS ||
	    fd < 0 || (flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &net) !=
		LDAP_OPT_SUCCESS) {
		snprintf(err, errsize, "cannot set the connection options");
		goto fail;
	}
	/* XXX: libldap copies the password into its request buffer and
	 * frees that unwiped; only our own copy can be wiped. */
	rc = ldap_sasl_bind_s(ld, conf->ldap_bind_dn, LDAP_SASL_SIMPLE,
			      cred != NULL ? cred : &anonymous, NULL, NULL,
			      NULL);
	if (rc != LDAP_SUCCESS) {
		describe(ld, rc, conf, why, sizeof(why));
		if (conf->ldap_bind_dn[0] != '\0')
			snprintf(err, errsize, "bind as %s failed: %s",
				 conf->ldap_bind_dn, why);
		else
			snprintf(err, errsize, "anonymous bind failed: %s",
				 why);
		goto fail;
	}
	return ld;
fail:
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	return NULL;
}

/* Frees what map_entry() built. */
static void
free_attrs(struct oa_attr *attrs, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < attrs[i].n_values; j++)
			free((char *)attrs[i].values[j]);
		free((void *)attrs[i].values);
		free((void *)attrs[i].lengths);
		ldap_memfree((char *)attrs[i].name);
	}
	free(attrs);
}

/* Copies one attribute's values into attr; takes name.  -1: no memory. */
static int
copy_values(struct oa_attr *attr, char *name, struct berval **vals)
{
	size_t n = vals != NULL ? (size_t)ldap_count_values_len(vals) : 0;
	char **values;
	size_t *lengths;
	size_t i;

	attr->name = name;
	attr->values = NULL;
	attr->lengths = NULL;
	attr->n_values = 0;
	values = calloc(n + 1, sizeof(*values));
	lengths = calloc(n + 1, sizeof(*lengths));
	attr->values = (const char *const *)values;
	attr->lengths = lengths;
	if (values == NULL || lengths == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		/* NUL-terminated for the model; the length keeps any
		 * embedded NUL visible to it. */
		values[i] = malloc(vals[i]->bv_len + 1);
		if (values[i] == NULL)
			return -1;
		memcpy(values[i], vals[i]->bv_val, vals[i]->bv_len);
		values[i][vals[i]->bv_len] = '\0';
		lengths[i] = vals[i]->bv_len;
		attr->n_values = i + 1;
	}
	return 0;
}

/* Maps one search entry.  Returns 0, or -1 (reported) to stop the load. */
static int
map_entry(struct ldap_run *run, LDAPMessage *msg)
{
	struct oa_origin origin = {run->uri, 0};
	struct oa_attr *attrs = NULL, *grown;
	size_t n_attrs = 0, cap = 0;
	BerElement *ber = NULL;
	char *dn = NULL, *name;
	int rc, ret = -1;

	dn = ldap_get_dn(run->ld, msg);
	if (dn == NULL) {
		run_report(run, "an entry without a readable DN");
		goto out;
	}
	rc = dn_set_add(&run->seen, dn);
	if (rc < 0)
		goto nomem;
	if (rc == 0) {
		ret = 0;
		goto out;
	}
	/* The attribute walk reports a decoding error only through the
	 * handle's result code; start it from success. */
	rc = LDAP_SUCCESS;
	ldap_set_option(run->ld, LDAP_OPT_RESULT_CODE, &rc);
	for (name = ldap_first_attribute(run->ld, msg, &ber); name != NULL;
	     name = ldap_next_attribute(run->ld, msg, ber)) {
		struct berval **vals;

		if (n_attrs == cap) {
			cap = cap == 0 ? 16 : 2 * cap;
			grown = realloc(attrs, cap * sizeof(*attrs));
			if (grown == NULL) {
				ldap_memfree(name);
				goto nomem;
			}
			attrs = grown;
		}
		vals = ldap_get_values_len(run->ld, msg, name);
		rc = copy_values(&attrs[n_attrs++], name, vals);
		ldap_value_free_len(vals);
		if (rc < 0)
			goto nomem;
	}
	ldap_get_option(run->ld, LDAP_OPT_RESULT_CODE, &rc);
	if (rc != LDAP_SUCCESS) {
		run_report(run, "%s: cannot decode the entry: %s", dn,
			   ldap_err2string(rc));
		goto out;
	}
	if (oa_dir_add_entry(run->dir, run->conf, &origin, dn, attrs, n_attrs,
			     run->report, run->ctx) < 0)
		goto nomem;
	run->entries++;
	ret = 0;
	goto out;
nomem:
	run_report(run, "out of memory");
out:
	if (ber != NULL)
		ber_free(ber, 0);
	free_attrs(attrs, n_attrs);
	ldap_memfree(dn);
	return ret;
}

/* Says why a search ended with rc, naming the limit when one was hit. */
static void
report_search_failure(struct ldap_run *run, const char *base, int rc,
		      const char *why)
{
	const struct oa_conf *conf = run->conf;

	switch (rc) {
	case LDAP_SIZELIMIT_EXCEEDED:
		if (conf->ldap_page_size == 0)
			run_report(run,
				   "search under %s stopped by the server's "
				   "size limit after %lu entries (%s); the "
				   "directory was not read whole: paged "
				   "results are off (ldap_page_size = 0)",
				   base, run->entries, why);
		else
			run_report(run,
				   "search under %s stopped by the server's "
				   "size limit after %lu entries (%s); the "
				   "directory was not read whole: lower "
				   "ldap_page_size (%u) below the limit, or "
				   "let paged searches pass it on the server "
				   "(slapd: size.prtotal)",
				   base, run->entries, why,
				   conf->ldap_page_size);
		break;
	case LDAP_TIMELIMIT_EXCEEDED:
		run_report(run,
			   "search under %s stopped by the time limit after "
			   "%lu entries (%s; ldap_timeout = %u s); the "
			   "directory was not read whole",
			   base, run->entries, why, conf->ldap_timeout);
		break;
	case LDAP_ADMINLIMIT_EXCEEDED:
		run_report(run,
			   "search under %s stopped by an administrative "
			   "limit of the server after %lu entries (%s); the "
			   "directory was not read whole",
			   base, run->entries, why);
		break;
	case LDAP_REFERRAL:
		run_report(run,
			   "search under %s answered with a referral, which "
			   "is not followed (%s); point ldap_uri at a server "
			   "that holds the data",
			   base, why);
		break;
	default:
		run_report(run,
			   "search under %s failed after %lu entries: %s; "
			   "the directory was not read whole",
			   base, run->entries, why);
		break;
	}
}

/*
 * Reads the answers to one search request (one page).  On success the
 * paged-results cookie for the next page, if any, is left in cookie.
 */
static int
read_page(struct ldap_run *run, const char *base, int msgid,
	  struct berval *cookie)
{
	struct timeval tv = {(time_t)run->conf->ldap_timeout, 0};
	LDAPControl **ctrls = NULL, *page;
	LDAPMessage *msg = NULL;
	char why[WHY_MAX];
	char *diag = NULL;
	int rc, err, ret = -1;
	ber_int_t estimate;

	for (;;) {
		rc = ldap_result(run->ld, msgid, LDAP_MSG_ONE, &tv, &msg);
		if (rc == 0) {
			ldap_abandon_ext(run->ld, msgid, NULL, NULL);
			run_report(run,
				   "search under %s: no answer within "
				   "ldap_timeout = %u s after %lu entries; "
				   "the directory was not read whole",
				   base, run->conf->ldap_timeout, run->entries);
			goto out;
		}
		if (rc < 0) {
			ldap_get_option(run->ld, LDAP_OPT_RESULT_CODE, &err);
			describe(run->ld, err, run->conf, why, sizeof(why));
			run_report(run,
				   "search under %s: connection lost after %lu "
				   "entries: %s; the directory was not read "
				   "whole",
				   base, run->entries, why);
			goto out;
		}
		if (rc == LDAP_RES_SEARCH_ENTRY) {
			if (map_entry(run, msg) < 0)
				goto out;
		} else if (rc == LDAP_RES_SEARCH_REFERENCE) {
			run_report(run,
				   "search under %s returned a continuation "
				   "reference (part of the tree lives on "
				   "another server), which is not followed; "
				   "the directory cannot be read whole from "
				   "this server",
				   base);
			goto out;
		} else if (rc == LDAP_RES_SEARCH_RESULT) {
			break;
		}
		ldap_msgfree(msg);
		msg = NULL;
	}
	rc =
	    ldap_parse_result(run->ld, msg, &err, NULL, &diag, NULL, &ctrls, 0);
	if (rc != LDAP_SUCCESS) {
		run_report(run, "search under %s: unreadable result: %s", base,
			   ldap_err2string(rc));
		goto out;
	}
	if (err != LDAP_SUCCESS) {
		if (diag != NULL && diag[0] != '\0')
			snprintf(why, sizeof(why), "%s: %s",
				 ldap_err2string(err), diag);
		else
			snprintf(why, sizeof(why), "%s", ldap_err2string(err));
		report_search_failure(run, base, err, why);
		goto out;
	}
	page = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, ctrls, NULL);
	if (page != NULL &&
	    ldap_parse_pageresponse_control(run->ld, page, &estimate, cookie) !=
		LDAP_SUCCESS) {
		run_report(run, "search under %s: bad paged-results answer",
			   base);
		goto out;
	}
	ret = 0;
out:
	ldap_controls_free(ctrls);
	ldap_memfree(diag);
	ldap_msgfree(msg);
	return ret;
}

/* Runs one search to its end, page by page. */
static int
search_all(struct ldap_run *run, const char *base, const char *filter,
	   char **attrs)
{
	struct timeval tv = {(time_t)run->conf->ldap_timeout, 0};
	struct berval cookie = {0, NULL};
	char why[WHY_MAX];
	int rc, msgid, ret = -1;

	do {
		LDAPControl *page = NULL, *sctrls[2] = {NULL, NULL};

		if (run->conf->ldap_page_size > 0) {
			/* Critical: a server that cannot page must say so
			 * rather than send a truncated answer. */
			rc = ldap_create_page_control(
			    run->ld, (ber_int_t)run->conf->ldap_page_size,
			    &cookie, 1, &page);
			if (rc != LDAP_SUCCESS) {
				run_report(run,
					   "cannot build the paged-results "
					   "control: %s",
					   ldap_err2string(rc));
				goto out;
			}
			sctrls[0] = page;
		}
		ber_memfree(cookie.bv_val);
		cookie.bv_val = NULL;
		cookie.bv_len = 0;
		rc = ldap_search_ext(run->ld, base, LDAP_SCOPE_SUBTREE, filter,
				     attrs, 0, page != NULL ? sctrls : NULL,
				     NULL, &tv, LDAP_NO_LIMIT, &msgid);
		if (page != NULL)
			ldap_control_free(page);
		if (rc != LDAP_SUCCESS) {
			describe(run->ld, rc, run->conf, why, sizeof(why));
			run_report(run, "search under %s failed: %s", base,
				   why);
			goto out;
		}
		if (read_page(run, base, msgid, &cookie) < 0)
			goto out;
	} while (cookie.bv_len > 0);
	ret = 0;
out:
	ber_memfree(cookie.bv_val);
	return ret;
}

enum { CLASS_USER, CLASS_ORG, CLASS_PROJECT, CLASS_DATASET, N_CLASSES };

struct class_search {
	const char *base;
	const char *object_class;
	const char *filter;
};

static void
class_searches(const struct oa_conf *conf, struct class_search *s)
{
	const char *bases[N_CLASSES] = {
	    conf->ldap_user_base, conf->ldap_org_base, conf->ldap_project_base,
	    conf->ldap_dataset_base};
	size_t i;

	s[CLASS_USER].object_class = conf->map.user_class;
	s[CLASS_USER].filter = conf->ldap_user_filter;
	s[CLASS_ORG].object_class = conf->map.org_class;
	s[CLASS_ORG].filter = conf->ldap_org_filter;
	s[CLASS_PROJECT].object_class = conf->map.project_class;
	s[CLASS_PROJECT].filter = conf->ldap_project_filter;
	s[CLASS_DATASET].object_class = conf->map.dataset_class;
	s[CLASS_DATASET].filter = conf->ldap_dataset_filter;
	for (i = 0; i < N_CLASSES; i++)
		s[i].base = bases[i][0] != '\0' ? bases[i] : conf->ldap_base;
}

/*
 * Builds the filter for the classes searched under base: one
 * "(&(objectClass=...)extra)" each, joined by '|' when there are several.
 * done[] marks the classes it took.
 */
static int
base_filter(struct ldap_run *run, const struct class_search *s,
	    const char *base, bool *done, char *out, size_t size)
{
	char part[FILTER_MAX];
	size_t i, len = 0, taken = 0;
	int n;

	out[0] = '\0';
	for (i = 0; i < N_CLASSES; i++) {
		if (done[i] || strcmp(s[i].base, base) != 0)
			continue;
		if (oa_ldap_class_filter(part, sizeof(part), s[i].object_class,
					 s[i].filter) < 0) {
			run_report(run,
				   "cannot build the search filter for class "
				   "%s (extra filter '%s' must be one "
				   "parenthesised filter)",
				   s[i].object_class, s[i].filter);
			return -1;
		}
		n = snprintf(out + len, size - len, "%s", part);
		if (n < 0 || (size_t)n >= size - len) {
			run_report(run, "search filter too long");
			return -1;
		}
		len += (size_t)n;
		done[i] = true;
		taken++;
	}
	if (taken > 1) {
		if (len + 4 > size) {
			run_report(run, "search filter too long");
			return -1;
		}
		memmove(out + 2, out, len + 1);
		out[0] = '(';
		out[1] = '|';
		out[len + 2] = ')';
		out[len + 3] = '\0';
	}
	return 0;
}

/*
 * The attributes to ask for: objectClass and every name of the mapping
 * but the MFA secret, which a sync has no business reading.
 */
static void
wanted_attributes(const struct oa_conf *conf, char **attrs, size_t max)
{
	const struct oa_conf_mapping *m = &conf->map;
	const char(*names)[OA_CONF_NAME_LEN] = (const void *)m;
	size_t i, j, n = 0;

	_Static_assert(sizeof(*m) % OA_CONF_NAME_LEN == 0,
		       "the mapping holds names only");
	attrs[n++] = "objectClass";
	for (i = 0; i < sizeof(*m) / OA_CONF_NAME_LEN && n + 1 < max; i++) {
		bool dup = false;

		if (names[i] == m->mfa_secret || names[i][0] == '\0')
			continue;
		for (j = 0; j < n; j++)
			dup = dup || strcasecmp(attrs[j], names[i]) == 0;
		if (!dup)
			attrs[n++] = (char *)names[i];
	}
	attrs[n] = NULL;
}

static int
read_directory(struct ldap_run *run)
{
	struct class_search s[N_CLASSES];
	bool done[N_CLASSES] = {false};
	char *attrs[sizeof(struct oa_conf_mapping) / OA_CONF_NAME_LEN + 2];
	char filter[FILTER_MAX];
	size_t i;

	class_searches(run->conf, s);
	wanted_attributes(run->conf, attrs, sizeof(attrs) / sizeof(attrs[0]));
	for (i = 0; i < N_CLASSES; i++) {
		if (done[i])
			continue;
		if (s[i].base[0] == '\0') {
			run_report(run,
				   "no search base for class %s: set ldap_base",
				   s[i].object_class);
			return -1;
		}
		if (base_filter(run, s, s[i].base, done, filter,
				sizeof(filter)) < 0)
			return -1;
		if (search_all(run, s[i].base, filter, attrs) < 0)
			return -1;
	}
	return 0;
}

int
oa_dir_load_ldap(struct oa_directory *dir, const struct oa_conf *conf,
		 oa_dir_report_fn *report, void *ctx)
{
	struct ldap_run run;
	char password[PASSWORD_MAX + 1];
	char uris[OA_CONF_TEXT_LEN];
	char failures[MESSAGE_MAX] = "";
	char err[MESSAGE_MAX];
	struct berval cred = {0, password};
	struct sigaction ignore, old_pipe;
	char *uri, *save;
	size_t used = 0;
	int ret = -1;

	memset(&run, 0, sizeof(run));
	run.dir = dir;
	run.conf = conf;
	run.report = report;
	run.ctx = ctx;
	run.uri = conf->ldap_uri;

	/* A server that goes away mid-read must be an error we report, not
	 * a SIGPIPE that kills the tool before it can say anything. */
	memset(&ignore, 0, sizeof(ignore));
	ignore.sa_handler = SIG_IGN;
	sigemptyset(&ignore.sa_mask);
	sigaction(SIGPIPE, &ignore, &old_pipe);

	if (conf->ldap_bind_dn[0] != '\0') {
		if (conf->ldap_bind_password_file[0] == '\0') {
			run_report(&run, "ldap_bind_dn is set but "
					 "ldap_bind_password_file is not");
			goto out;
		}
		if (read_password(conf->ldap_bind_password_file, password,
				  sizeof(password), &cred.bv_len, err,
				  sizeof(err)) < 0) {
			run_report(&run, "%s", err);
			goto out;
		}
	} else if (conf->ldap_bind_password_file[0] != '\0') {
		run_report(&run, "ldap_bind_password_file is set but "
				 "ldap_bind_dn is not");
		goto out;
	}

	/* Servers are tried in order; the first that answers and lets us
	 * bind is read.  A later failure does not move on to the next one:
	 * entries already mapped would be read twice. */
	snprintf(uris, sizeof(uris), "%s", conf->ldap_uri);
	for (uri = strtok_r(uris, " \t", &save); uri != NULL;
	     uri = strtok_r(NULL, " \t", &save)) {
		run.ld =
		    connect_server(conf, uri, cred.bv_len > 0 ? &cred : NULL,
				   err, sizeof(err));
		if (run.ld != NULL) {
			run.uri = uri;
			break;
		}
		used += (size_t)snprintf(failures + used,
					 sizeof(failures) - used, "%s%s: %s",
					 used > 0 ? "; " : "", uri, err);
		if (used >= sizeof(failures))
			used = sizeof(failures) - 1;
	}
	/* The password is no longer needed: the connection is bound. */
	sodium_memzero(password, sizeof(password));
	if (run.ld == NULL) {
		run_report(&run, "no LDAP server could be used: %s",
			   failures[0] != '\0' ? failures
					       : "ldap_uri is empty");
		goto out;
	}
	if (read_directory(&run) < 0)
		goto out;
	ret = 0;
out:
	sodium_memzero(password, sizeof(password));
	if (run.ld != NULL)
		ldap_unbind_ext_s(run.ld, NULL, NULL);
	dn_set_free(&run.seen);
	sigaction(SIGPIPE, &old_pipe, NULL);
	return ret;
}
