/*
 * Benchmark driver (not part of make check): times passwd and group
 * lookups through glibc, whatever nsswitch.conf names.  Each kind of
 * lookup runs for about a second (or N calls) over USERS users named
 * u000000... (uid 100000 + i) and GROUPS groups g00000...
 *
 *	nss_bench N USERS GROUPS
 *
 * Prints one line per kind: name, calls, nanoseconds per call.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static char buf[1 << 20];

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	long n, users, groups, i, k;
	const char *kinds[] = {"getpwnam_r", "getpwuid_r", "getgrnam_r",
			       "getgrgid_r", "getgrouplist"};
	int kind;

	if (argc != 4)
		return 2;
	n = atol(argv[1]);
	users = atol(argv[2]);
	groups = atol(argv[3]);
	for (kind = 0; kind < 5; kind++) {
		double start = now(), end = start;
		long found = 0;

		for (i = 0; i < n && end - start < 1.0; i++) {
			char name[32];
			struct passwd pw, *pwp = NULL;
			struct group gr, *grp = NULL;
			gid_t list[256];
			int count = 256;

			/* a stride through the names, so caches do not help */
			k = (i * 7919) %
			    (kind >= 2 && kind <= 3 ? groups : users);
			switch (kind) {
			case 0:
				snprintf(name, sizeof(name), "u%06ld", k);
				getpwnam_r(name, &pw, buf, sizeof(buf), &pwp);
				found += pwp != NULL;
				break;
			case 1:
				getpwuid_r((uid_t)(100000 + k), &pw, buf,
					   sizeof(buf), &pwp);
				found += pwp != NULL;
				break;
			case 2:
				snprintf(name, sizeof(name), "g%05ld", k);
				getgrnam_r(name, &gr, buf, sizeof(buf), &grp);
				found += grp != NULL;
				break;
			case 3:
				getgrgid_r((gid_t)(3000000 + k), &gr, buf,
					   sizeof(buf), &grp);
				found += grp != NULL;
				break;
			case 4:
				snprintf(name, sizeof(name), "u%06ld", k);
				found +=
				    getgrouplist(name, 100, list, &count) > 1;
				break;
			}
			if ((i & 63) == 0)
				end = now();
		}
		end = now();
		if (found != i) {
			fprintf(stderr, "%s: %ld of %ld found\n", kinds[kind],
				found, i);
			return 1;
		}
		printf("%-13s %8ld calls %10.0f ns/call\n", kinds[kind], i,
		       (end - start) * 1e9 / (double)i);
	}
	return 0;
}
