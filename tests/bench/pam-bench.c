/*
 * pam-bench: what one login costs through the real libpam, per case.
 *
 * usage: pam-bench [-a STEP] [-r ROUNDS] [-p PERIOD] [-w WINDOW]
 *                  [-d DIGITS] CONFDIR CASE...
 *   -a STEP  use no time step up to STEP (codes an earlier run spent)
 * CASE:  LABEL:SERVICE:MODE:USERS
 *   SERVICE  a service file in CONFDIR (pam_start_confdir)
 *   MODE     ok     answer the prompt with the user's current TOTP code
 *                   (expects PAM_SUCCESS)
 *            wrong  answer with a code of no step in the window
 *                   (expects PAM_AUTH_ERR)
 *            none   expect no prompt and PAM_SUCCESS from the stack
 *   USERS    a file of "NAME BASE32SECRET" lines ("NAME -" for none)
 *
 * Each login is pam_start_confdir + pam_authenticate + pam_end, as a login
 * program does it once per process: the stack's modules are loaded and
 * unloaded every time.  Every user of a case logs in once per round (both
 * modules refuse a replayed code).  Before each case the driver waits
 * for a time step that the case has not used yet, and computes its users'
 * codes for this step and the next two with liboath, which it then
 * unloads again, so that the timed loop does not find liboath already
 * mapped for the modules.  The cases of a round run one after the other,
 * in an order that rotates from round to round.
 *
 * Output: one tab-separated line per case: label, mode, logins, mean µs
 * (the whole loop's clock_gettime(CLOCK_MONOTONIC) time over the logins),
 * median, 10th and 90th percentile of the single logins.  Exit 0 when
 * every login ended as its mode expects, 1 when one did not, 2 for usage,
 * 99 when the harness itself fails.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#define MAX_CASES  16
#define NAME_MAX_  64
#define SECRET_MAX 64
#define N_STEPS	   3 /* codes ready for this step and the next two */

enum mode { MODE_OK, MODE_WRONG, MODE_NONE };

struct user {
	char name[NAME_MAX_ + 1];
	unsigned char secret[SECRET_MAX];
	size_t secret_len;
	char code[N_STEPS][12];
	char wrong[12];
};

struct bench_case {
	const char *label;
	const char *service;
	enum mode mode;
	struct user *users;
	size_t n_users;
	double *samples; /* µs per login, every round */
	size_t n_samples;
	double loop_us;	    /* sum of the timed loops */
	uint64_t last_used; /* the last time step a code was used in */
	unsigned unexpected;
};

/* What the conversation of one login needs. */
struct login {
	const struct user *user;
	enum mode mode;
	uint64_t base_step;
	unsigned prompts;
	bool bad_step;
	uint64_t used_step;
};

static unsigned period = 30, window = 1, digits = 6;

/* liboath, loaded only while codes are computed. */
typedef int oath_init_fn(void);
typedef int oath_done_fn(void);
typedef int oath_totp_fn(const char *, size_t, time_t, unsigned, time_t,
			 unsigned, char *);
typedef int oath_b32_fn(const char *, size_t, char **, size_t *);

static void
broken(const char *what)
{
	fprintf(stderr, "pam-bench: %s%s%s\n", what, errno ? ": " : "",
		errno ? strerror(errno) : "");
	exit(99);
}

static void
usage(void)
{
	fprintf(stderr, "usage: pam-bench [-a STEP] [-r ROUNDS] [-p PERIOD] "
			"[-w WINDOW] [-d DIGITS] CONFDIR "
			"LABEL:SERVICE:MODE:USERS...\n");
	exit(2);
}

static double
now_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		broken("clock_gettime");
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void *
load_oath(void)
{
	void *dl = dlopen("liboath.so.0", RTLD_NOW | RTLD_LOCAL);

	if (dl == NULL) {
		fprintf(stderr, "pam-bench: %s\n", dlerror());
		exit(99);
	}
	return dl;
}

static void *
sym(void *dl, const char *name)
{
	void *p = dlsym(dl, name);

	if (p == NULL)
		broken(name);
	return p;
}

/*
 * Unloads liboath and checks that it is gone; returns false when
 * something else keeps it mapped (then the modules find it loaded).
 */
static bool
unload_oath(void *dl)
{
	void *again;

	dlclose(dl);
	again = dlopen("liboath.so.0", RTLD_NOW | RTLD_NOLOAD);
	if (again == NULL)
		return true;
	dlclose(again);
	return false;
}

static void
read_users(struct bench_case *c, const char *path)
{
	char line[512], name[NAME_MAX_ + 2], key[256];
	size_t cap = 0;
	void *dl = NULL;
	oath_b32_fn *b32 = NULL;
	FILE *f;

	f = fopen(path, "r");
	if (f == NULL)
		broken(path);
	while (fgets(line, sizeof(line), f) != NULL) {
		struct user *u;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%65s %255s", name, key) != 2 ||
		    strlen(name) > NAME_MAX_) {
			errno = 0;
			broken("a users line is not NAME SECRET");
		}
		if (c->n_users == cap) {
			cap = cap ? cap * 2 : 64;
			c->users = realloc(c->users, cap * sizeof(*c->users));
			if (c->users == NULL)
				broken("realloc");
		}
		u = &c->users[c->n_users++];
		memset(u, 0, sizeof(*u));
		memcpy(u->name, name, strlen(name) + 1);
		if (strcmp(key, "-") == 0)
			continue;
		if (dl == NULL) {
			dl = load_oath();
			b32 = (oath_b32_fn *)sym(dl, "oath_base32_decode");
		}
		{
			char *raw = NULL;
			size_t len = 0;

			if (b32(key, strlen(key), &raw, &len) != 0 ||
			    len > SECRET_MAX) {
				errno = 0;
				broken("a secret is not base32");
			}
			memcpy(u->secret, raw, len);
			u->secret_len = len;
			free(raw);
		}
	}
	fclose(f);
	if (dl != NULL)
		unload_oath(dl);
	if (c->n_users == 0) {
		errno = 0;
		broken("a users file without users");
	}
}

static void
parse_case(struct bench_case *c, char *spec)
{
	char *f[4];
	int i;

	for (i = 0; i < 4; i++) {
		f[i] = spec;
		spec = i < 3 ? strchr(spec, ':') : NULL;
		if (i < 3 && spec == NULL)
			usage();
		if (spec != NULL)
			*spec++ = '\0';
	}
	memset(c, 0, sizeof(*c));
	c->label = f[0];
	c->service = f[1];
	if (strcmp(f[2], "ok") == 0)
		c->mode = MODE_OK;
	else if (strcmp(f[2], "wrong") == 0)
		c->mode = MODE_WRONG;
	else if (strcmp(f[2], "none") == 0)
		c->mode = MODE_NONE;
	else
		usage();
	read_users(c, f[3]);
}

/*
 * The case's users' codes for steps base .. base+N_STEPS-1, and for each
 * a wrong code: one that no step from base-window to the last step +
 * window gives.
 */
static void
compute_codes(struct bench_case *c, uint64_t base, bool *oath_resident)
{
	char other[N_STEPS + 2 * 10][12];
	oath_init_fn *init;
	oath_done_fn *done;
	oath_totp_fn *totp;
	unsigned long mod = 1;
	unsigned i, k, n_other;
	size_t j;
	void *dl;

	for (i = 0; i < digits; i++)
		mod *= 10;
	dl = load_oath();
	init = (oath_init_fn *)sym(dl, "oath_init");
	done = (oath_done_fn *)sym(dl, "oath_done");
	totp = (oath_totp_fn *)sym(dl, "oath_totp_generate");
	if (init() != 0)
		broken("oath_init");
	for (j = 0; j < c->n_users; j++) {
		struct user *u = &c->users[j];
		uint64_t first = base > window ? base - window : 0;
		uint64_t s, last = base + N_STEPS - 1 + window;
		unsigned long w;

		if (u->secret_len == 0) {
			errno = 0;
			broken("a user without a secret in an OTP case");
		}
		n_other = 0;
		for (s = first; s <= last; s++)
			if (totp((const char *)u->secret, u->secret_len,
				 (time_t)(s * period), period, 0, digits,
				 other[n_other++]) != 0)
				broken("oath_totp_generate");
		for (k = 0; k < N_STEPS; k++)
			memcpy(u->code[k], other[base - first + k], 12);
		/* Half the range away, then the next that is no code. */
		w = (strtoul(u->code[0], NULL, 10) + mod / 2) % mod;
		for (;;) {
			snprintf(u->wrong, sizeof(u->wrong), "%0*lu",
				 (int)digits, w);
			for (k = 0; k < n_other; k++)
				if (strcmp(other[k], u->wrong) == 0)
					break;
			if (k == n_other)
				break;
			w = (w + 1) % mod;
		}
	}
	done();
	if (!unload_oath(dl))
		*oath_resident = true;
}

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
     void *data)
{
	struct login *l = data;
	struct pam_response *r;
	int i;

	r = calloc((size_t)n, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		const char *answer;
		uint64_t step;

		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		l->prompts++;
		if (l->mode == MODE_NONE)
			goto refuse;
		if (l->mode == MODE_WRONG) {
			answer = l->user->wrong;
		} else {
			/* The code of the step the clock is in now. */
			step = (uint64_t)time(NULL) / period;
			if (step < l->base_step ||
			    step >= l->base_step + N_STEPS) {
				l->bad_step = true;
				goto refuse;
			}
			answer = l->user->code[step - l->base_step];
			if (step > l->used_step)
				l->used_step = step;
		}
		r[i].resp = strdup(answer);
		if (r[i].resp == NULL)
			goto refuse;
	}
	*resp = r;
	return PAM_SUCCESS;
refuse:
	for (i = 0; i < n; i++)
		free(r[i].resp);
	free(r);
	return PAM_CONV_ERR;
}

/* One login; kept out of line so that callgrind can count it alone. */
__attribute__((noinline)) static int
bench_login(const char *confdir, const char *service, struct pam_conv *pc,
	    const char *user)
{
	pam_handle_t *pamh = NULL;
	int rc;

	rc = pam_start_confdir(service, user, pc, confdir, &pamh);
	if (rc != PAM_SUCCESS)
		return rc;
	rc = pam_authenticate(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

/*
 * Runs every user of c once, in a time step after any that c used before
 * (waiting for it, untimed), with codes computed just before.  Out of
 * line: callgrind dumps its counts after each call (pam-bench.sh).
 */
__attribute__((noinline)) static void
run_case(struct bench_case *c, const char *confdir, bool *oath_resident)
{
	struct login l;
	struct pam_conv pc = {conv, &l};
	uint64_t base = 0;
	double t0, t1, loop0;
	size_t j;
	int rc, want;

	if (c->mode != MODE_NONE) {
		base = (uint64_t)time(NULL) / period;
		while (base <= c->last_used) {
			sleep(1);
			base = (uint64_t)time(NULL) / period;
		}
		compute_codes(c, base, oath_resident);
	}
	want = c->mode == MODE_WRONG ? PAM_AUTH_ERR : PAM_SUCCESS;
	loop0 = now_us();
	t0 = loop0;
	for (j = 0; j < c->n_users; j++) {
		memset(&l, 0, sizeof(l));
		l.user = &c->users[j];
		l.mode = c->mode;
		l.base_step = base;
		rc = bench_login(confdir, c->service, &pc, c->users[j].name);
		t1 = now_us();
		c->samples[c->n_samples++] = t1 - t0;
		t0 = t1;
		if (rc != want || l.bad_step ||
		    l.prompts != (c->mode == MODE_NONE ? 0u : 1u)) {
			if (c->unexpected++ < 5)
				fprintf(
				    stderr,
				    "pam-bench: %s: %s: %s, %u prompt(s)%s\n",
				    c->label, c->users[j].name,
				    pam_strerror(NULL, rc), l.prompts,
				    l.bad_step ? ", case outran its steps"
					       : "");
		}
		if (l.used_step > c->last_used)
			c->last_used = l.used_step;
	}
	c->loop_us += t0 - loop0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
percentile(const double *sorted, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return sorted[i < n ? i : n - 1];
}

static unsigned
parse_uint(const char *s, unsigned lo, unsigned hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		usage();
	return (unsigned)v;
}

int
main(int argc, char **argv)
{
	struct bench_case cases[MAX_CASES];
	unsigned rounds = 1, r;
	uint64_t after = 0;
	bool oath_resident = false;
	const char *confdir;
	int n_cases = 0, opt, i, ret = 0;

	while ((opt = getopt(argc, argv, "a:r:p:w:d:")) != -1) {
		switch (opt) {
		case 'a':
			after = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			rounds = parse_uint(optarg, 1, 1000);
			break;
		case 'p':
			period = parse_uint(optarg, 1, 3600);
			break;
		case 'w':
			window = parse_uint(optarg, 0, 10);
			break;
		case 'd':
			digits = parse_uint(optarg, 6, 8);
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 2 || argc - optind - 1 > MAX_CASES)
		usage();
	confdir = argv[optind++];
	for (; optind < argc; optind++) {
		struct bench_case *c = &cases[n_cases++];

		parse_case(c, argv[optind]);
		c->last_used = after;
		c->samples = calloc(c->n_users * rounds, sizeof(double));
		if (c->samples == NULL)
			broken("calloc");
	}
	for (r = 0; r < rounds; r++)
		for (i = 0; i < n_cases; i++)
			run_case(&cases[((int)r + i) % n_cases], confdir,
				 &oath_resident);
	if (oath_resident)
		fprintf(stderr, "pam-bench: note: liboath stayed loaded "
				"between logins\n");
	printf("case\tmode\tlogins\tmean_us\tmedian_us\tp10_us\tp90_us\n");
	for (i = 0; i < n_cases; i++) {
		struct bench_case *c = &cases[i];
		static const char *const names[] = {"ok", "wrong", "none"};

		qsort(c->samples, c->n_samples, sizeof(double), cmp_double);
		printf("%s\t%s\t%zu\t%.1f\t%.1f\t%.1f\t%.1f\n", c->label,
		       names[c->mode], c->n_samples,
		       c->loop_us / (double)c->n_samples,
		       percentile(c->samples, c->n_samples, 0.5),
		       percentile(c->samples, c->n_samples, 0.1),
		       percentile(c->samples, c->n_samples, 0.9));
		if (c->unexpected > 0) {
			fprintf(stderr,
				"pam-bench: %s: %u login(s) ended otherwise "
				"than expected\n",
				c->label, c->unexpected);
			ret = 1;
		}
		free(c->samples);
		free(c->users);
	}
	return ret;
}
