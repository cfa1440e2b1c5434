/*
 * Test driver: passwd and group lookups through glibc (getpwnam_r,
 * getgrnam_r, getgrouplist ...), so that the NSS module is exercised the
 * way programs use it.  The tests run it under nss_wrapper or in a private
 * mount namespace whose nsswitch.conf names orgauth.
 *
 *   nss_lookup show QUERY...      one line per query on stdout
 *   nss_lookup damage VALID WORKDIR STRIDE FLIPS SEED QUERY...
 *        the cache file VALID truncated at every STRIDE-th byte offset
 *        (1: every offset), and FLIPS copies with random bit flips, each looked
 * at by a fresh child process (ORGAUTH_CACHE set to the damaged copy): every
 * answer must be the one the valid file gives or "not found", and no child may
 * crash nss_lookup watch A B STOPFILE QUERY... loops over the queries until
 * STOPFILE exists (creating STOPFILE.started after the first round); every
 * answer must be the line of file A or of file B; prints how many rounds
 * matched A and B whole nss_lookup erange USER GROUP  short buffers give
 * ERANGE, and getgrnam retries with a larger one
 *
 * QUERY: pw:NAME uid:N gr:NAME gid:N gl:USER (getgrouplist, sorted)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINE_MAX_LEN (1 << 20)

static char buffer[LINE_MAX_LEN];

static int
cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

/* Appends to out[*len], keeping it NUL-terminated; cuts when full. */
static void put(char *out, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
put(char *out, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n;
}

static void
format_pw(const struct passwd *pw, char *out, size_t size)
{
	size_t len = 0;

	if (pw == NULL) {
		put(out, size, &len, "-");
		return;
	}
	put(out, size, &len, "%s:%s:%u:%u:%s:%s:%s", pw->pw_name, pw->pw_passwd,
	    (unsigned)pw->pw_uid, (unsigned)pw->pw_gid, pw->pw_gecos,
	    pw->pw_dir, pw->pw_shell);
}

static void
format_gr(const struct group *gr, char *out, size_t size)
{
	size_t len = 0, i;

	if (gr == NULL) {
		put(out, size, &len, "-");
		return;
	}
	put(out, size, &len, "%s:%s:%u:", gr->gr_name, gr->gr_passwd,
	    (unsigned)gr->gr_gid);
	for (i = 0; gr->gr_mem[i] != NULL; i++)
		put(out, size, &len, "%s%s", i > 0 ? "," : "", gr->gr_mem[i]);
}

/*
 * Big buffers so that one call answers (erange tests the short case); one
 * set per thread, for watch.
 */
static __thread char pwbuf[1 << 16];
static __thread char *grbuf;
static __thread gid_t groups[65536];
static const size_t grbuf_size = 1 << 24;

static void
query_free(void)
{
	free(grbuf);
	grbuf = NULL;
}

static void
query(const char *q, char *out, size_t size)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;

	if (grbuf == NULL) {
		grbuf = malloc(grbuf_size);
		if (grbuf == NULL)
			exit(99);
	}
	if (strncmp(q, "pw:", 3) == 0) {
		getpwnam_r(q + 3, &pw, pwbuf, sizeof(pwbuf), &pwp);
		format_pw(pwp, out, size);
	} else if (strncmp(q, "uid:", 4) == 0) {
		getpwuid_r((uid_t)strtoul(q + 4, NULL, 10), &pw, pwbuf,
			   sizeof(pwbuf), &pwp);
		format_pw(pwp, out, size);
	} else if (strncmp(q, "gr:", 3) == 0) {
		getgrnam_r(q + 3, &gr, grbuf, grbuf_size, &grp);
		format_gr(grp, out, size);
	} else if (strncmp(q, "gid:", 4) == 0) {
		getgrgid_r((gid_t)strtoul(q + 4, NULL, 10), &gr, grbuf,
			   grbuf_size, &grp);
		format_gr(grp, out, size);
	} else if (strncmp(q, "gl:", 3) == 0) {
		int n = 65536, i;
		size_t len = 0;

		/* 0 as the primary group: only what NSS adds is listed */
		if (getgrouplist(q + 3, 0, groups, &n) < 0) {
			put(out, size, &len, "too many");
			return;
		}
		qsort(groups, (size_t)n, sizeof(gid_t), cmp_gid);
		for (i = 0; i < n; i++) {
			if (groups[i] != 0)
				put(out, size, &len, "%s%u", len > 0 ? "," : "",
				    (unsigned)groups[i]);
		}
		if (len == 0)
			put(out, size, &len, "-");
	} else {
		fprintf(stderr, "nss_lookup: bad query %s\n", q);
		exit(99);
	}
}

static int
cmd_show(int n, char **queries)
{
	int i;

	for (i = 0; i < n; i++) {
		query(queries[i], buffer, sizeof(buffer));
		printf("%s\n", buffer);
	}
	return 0;
}

/* Runs the queries in a child with ORGAUTH_CACHE=path; output in out. */
static int
child_answers(const char *path, int n, char **queries, char *out, size_t size)
{
	int fds[2], status;
	size_t len = 0;
	ssize_t got;
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		FILE *fp;
		int i;

		close(fds[0]);
		setenv("ORGAUTH_CACHE", path, 1);
		fp = fdopen(fds[1], "w");
		if (fp == NULL)
			_exit(99);
		for (i = 0; i < n; i++) {
			query(queries[i], buffer, sizeof(buffer));
			fprintf(fp, "%s\n", buffer);
		}
		fclose(fp);
		_exit(0);
	}
	close(fds[1]);
	while (len + 1 < size &&
	       (got = read(fds[0], out + len, size - len - 1)) > 0)
		len += (size_t)got;
	out[len] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "child for %s: status %d\n", path, status);
		return -1;
	}
	return 0;
}

static int compare_failures;

/* Every line of got is the line of ref or "-". */
static int
compare_lines(const char *ref, const char *got, const char *what)
{
	const char *r = ref, *g = got;

	while (*r != '\0') {
		size_t rl = strcspn(r, "\n"), gl = strcspn(g, "\n");

		if (!(gl == rl && memcmp(r, g, rl) == 0) &&
		    !(gl == 1 && g[0] == '-')) {
			if (++compare_failures <= 5)
				fprintf(stderr,
					"%s: got [%.*s], expected [%.*s]\n",
					what, (int)gl, g, (int)rl, r);
			return -1;
		}
		r += rl + (r[rl] != '\0');
		g += gl + (g[gl] != '\0');
	}
	return *g == '\0' ? 0 : -1;
}

static unsigned char *
read_file(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *data;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL ||
	    read(fd, data, (size_t)st.st_size) != (ssize_t)st.st_size) {
		close(fd);
		free(data);
		return NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return data;
}

static int
write_file(const char *path, const unsigned char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ret = 0;

	if (fd < 0)
		return -1;
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		ret = -1;
	if (close(fd) < 0)
		ret = -1;
	return ret;
}

static int
cmd_damage(char **argv, int n, char **queries)
{
	const char *valid = argv[0], *work = argv[1];
	unsigned long stride = strtoul(argv[2], NULL, 10);
	unsigned long flips = strtoul(argv[3], NULL, 10), i;
	static char ref[LINE_MAX_LEN], got[LINE_MAX_LEN];
	unsigned char *data, *copy;
	char path[4096], what[64];
	size_t len, k;
	int failures = 0;

	size_t tried = 0;

	srandom((unsigned)strtoul(argv[4], NULL, 10));
	if (stride == 0)
		return 99;
	data = read_file(valid, &len);
	copy = data == NULL ? NULL : malloc(len);
	if (copy == NULL)
		return 99;
	if (child_answers(valid, n, queries, ref, sizeof(ref)) < 0)
		return 99;
	if (ref[0] == '-') {
		fprintf(stderr, "the valid cache answers nothing:\n%s", ref);
		return 99;
	}
	for (k = 0; k < len + flips; k++) {
		size_t vlen = len;

		if (k < len && k % stride != 0)
			continue;
		tried++;
		memcpy(copy, data, len);
		if (k < len) {
			vlen = k;
			snprintf(what, sizeof(what), "truncated at %zu", k);
		} else {
			unsigned long bits = 1 + (unsigned long)random() % 3;

			for (i = 0; i < bits; i++) {
				size_t at = (size_t)random() % len;

				copy[at] ^=
				    (unsigned char)(1u << (random() % 8));
			}
			snprintf(what, sizeof(what), "flips #%zu", k - len);
		}
		/* a new name each time: nothing may be cached across */
		snprintf(path, sizeof(path), "%s/damaged.%zu", work, k);
		if (write_file(path, copy, vlen) < 0)
			return 99;
		if (child_answers(path, n, queries, got, sizeof(got)) < 0 ||
		    compare_lines(ref, got, what) < 0)
			failures++;
		unlink(path);
	}
	printf("%zu damaged caches, %d failures\n", tried, failures);
	free(data);
	free(copy);
	return failures > 0 ? 1 : 0;
}

/* How a round of answers compares with the two expected ones. */
enum verdict { ALL_A, ALL_B, MIXED, WRONG };

static enum verdict
judge(const char *a, const char *b, const char *got)
{
	const char *pa = a, *pb = b, *g = got;
	enum verdict v = MIXED;

	if (strcmp(got, a) == 0)
		return ALL_A;
	if (strcmp(got, b) == 0)
		return ALL_B;
	/* a round may span a replacement: judge line by line */
	while (*g != '\0') {
		size_t la = strcspn(pa, "\n");
		size_t lb = strcspn(pb, "\n");
		size_t lg = strcspn(g, "\n");

		if (!(lg == la && memcmp(g, pa, la) == 0) &&
		    !(lg == lb && memcmp(g, pb, lb) == 0)) {
			fprintf(stderr, "wrong answer [%.*s]\n", (int)lg, g);
			v = WRONG;
		}
		pa += la + (pa[la] != '\0');
		pb += lb + (pb[lb] != '\0');
		g += lg + (g[lg] != '\0');
	}
	return v;
}

struct watcher {
	pthread_t thread;
	const char *a, *b, *stop;
	int n;
	char **queries;
	bool first; /* creates STOP.started after its first round */
	unsigned long rounds, as, bs;
	int failures;
};

static int stop_watching;

/* One round of the queries into got (size LINE_MAX_LEN). */
static void
round_of(const struct watcher *w, char *line, char *got)
{
	size_t len = 0;
	int i;

	got[0] = '\0';
	for (i = 0; i < w->n; i++) {
		query(w->queries[i], line, LINE_MAX_LEN);
		put(got, LINE_MAX_LEN, &len, "%s\n", line);
	}
}

static void *
watch_thread(void *arg)
{
	struct watcher *w = arg;
	char *line = malloc(LINE_MAX_LEN), *got = malloc(LINE_MAX_LEN);

	if (line == NULL || got == NULL)
		exit(99);
	while (!__atomic_load_n(&stop_watching, __ATOMIC_RELAXED) &&
	       w->failures < 10) {
		round_of(w, line, got);
		if (w->rounds++ == 0 && w->first) {
			char started[4096];

			snprintf(started, sizeof(started), "%s.started",
				 w->stop);
			close(open(started, O_WRONLY | O_CREAT, 0644));
		}
		switch (judge(w->a, w->b, got)) {
		case ALL_A:
			w->as++;
			break;
		case ALL_B:
			w->bs++;
			break;
		case MIXED:
			break;
		case WRONG:
			w->failures++;
			break;
		}
	}
	free(line);
	free(got);
	query_free();
	return NULL;
}

/* A child forked while the threads look users up answers right too. */
static int
forked_round(struct watcher *w)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *line = malloc(LINE_MAX_LEN), *got = malloc(LINE_MAX_LEN);

		if (line == NULL || got == NULL)
			_exit(99);
		round_of(w, line, got);
		_exit(judge(w->a, w->b, got) == WRONG ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "forked reader: status %d\n", status);
		return -1;
	}
	return 0;
}

#define WATCH_THREADS 3

static int
cmd_watch(char **argv, int n, char **queries)
{
	size_t alen, blen;
	char *a = (char *)read_file(argv[0], &alen);
	char *b = (char *)read_file(argv[1], &blen);
	struct watcher w[WATCH_THREADS];
	unsigned long rounds = 0, as = 0, bs = 0, forks = 0;
	int failures = 0, i;

	if (a == NULL || b == NULL)
		return 99;
	a[alen] = '\0';
	b[blen] = '\0';
	for (i = 0; i < WATCH_THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].a = a;
		w[i].b = b;
		w[i].stop = argv[2];
		w[i].n = n;
		w[i].queries = queries;
		w[i].first = i == 0;
		if (pthread_create(&w[i].thread, NULL, watch_thread, &w[i]) !=
		    0)
			return 99;
	}
	/*
	 * This thread forks readers until told to stop; not under ASan,
	 * whose allocator a child can inherit locked by another thread, nor
	 * valgrind, which reports the other threads' memory as lost in the
	 * child (NSS_LOOKUP_NO_FORK).
	 */
	while (access(argv[2], F_OK) < 0 && failures < 10) {
		if (getenv("NSS_LOOKUP_NO_FORK") == NULL) {
			if (forked_round(&w[0]) < 0)
				failures++;
			forks++;
		}
		usleep(10000);
	}
	__atomic_store_n(&stop_watching, 1, __ATOMIC_RELAXED);
	for (i = 0; i < WATCH_THREADS; i++) {
		pthread_join(w[i].thread, NULL);
		rounds += w[i].rounds;
		as += w[i].as;
		bs += w[i].bs;
		failures += w[i].failures;
	}
	printf("rounds=%lu a=%lu b=%lu forks=%lu failures=%d\n", rounds, as, bs,
	       forks, failures);
	free(a);
	free(b);
	return failures > 0 ? 1 : 0;
}

static int
cmd_erange(const char *user, const char *group)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	static char big[1 << 22];
	char tiny[4];
	int rc, failures = 0;

	rc = getpwnam_r(user, &pw, tiny, sizeof(tiny), &pwp);
	if (rc != ERANGE || pwp != NULL) {
		fprintf(stderr, "getpwnam_r, 4 bytes: %d\n", rc);
		failures++;
	}
	rc = getgrnam_r(group, &gr, tiny, sizeof(tiny), &grp);
	if (rc != ERANGE || grp != NULL) {
		fprintf(stderr, "getgrnam_r, 4 bytes: %d\n", rc);
		failures++;
	}
	rc = getpwnam_r(user, &pw, big, sizeof(big), &pwp);
	if (rc != 0 || pwp == NULL) {
		fprintf(stderr, "getpwnam_r: %d\n", rc);
		failures++;
	}
	rc = getgrnam_r(group, &gr, big, sizeof(big), &grp);
	if (rc != 0 || grp == NULL) {
		fprintf(stderr, "getgrnam_r: %d\n", rc);
		failures++;
	}
	/* getgrnam grows its own buffer on ERANGE: all members arrive */
	grp = getgrnam(group);
	if (grp != NULL) {
		size_t i;

		for (i = 0; grp->gr_mem[i] != NULL; i++)
			;
		printf("%s %zu members\n", group, i);
	} else {
		fprintf(stderr, "getgrnam %s: not found\n", group);
		failures++;
	}
	return failures > 0 ? 1 : 0;
}

static int
cmd_loop(long n, int nq, char **queries)
{
	static char first[LINE_MAX_LEN], line[LINE_MAX_LEN];
	size_t len = 0;
	long i;
	int q;

	for (q = 0; q < nq; q++) {
		query(queries[q], line, sizeof(line));
		put(first, sizeof(first), &len, "%s\n", line);
	}
	for (i = 0; i < n; i++) {
		static char got[LINE_MAX_LEN];

		len = 0;
		for (q = 0; q < nq; q++) {
			query(queries[q], line, sizeof(line));
			put(got, sizeof(got), &len, "%s\n", line);
		}
		if (strcmp(got, first) != 0) {
			fprintf(stderr, "answers changed:\n%s", got);
			return 1;
		}
	}
	printf("%s", first);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return cmd_show(argc - 2, argv + 2);
	if (argc >= 8 && strcmp(argv[1], "damage") == 0)
		return cmd_damage(argv + 2, argc - 7, argv + 7);
	if (argc >= 6 && strcmp(argv[1], "watch") == 0)
		return cmd_watch(argv + 2, argc - 5, argv + 5);
	if (argc >= 4 && strcmp(argv[1], "loop") == 0)
		return cmd_loop(atol(argv[2]), argc - 3, argv + 3);
	if (argc == 4 && strcmp(argv[1], "erange") == 0)
		return cmd_erange(argv[2], argv[3]);
	fprintf(stderr, "usage: see the top of nss_lookup.c\n");
	return 99;
}
