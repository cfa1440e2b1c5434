/*
 * cut_proxy PORTFILE UPSTREAM_PORT BUDGET [stall]: a one-connection TCP
 * relay on 127.0.0.1 that, once BUDGET bytes have gone from the server to
 * the client, drops both sides, or with "stall" stops relaying and keeps
 * the client waiting until it hangs up.  The LDAP tests use it to lose a
 * server in the middle of a read at a point that does not depend on
 * timing.  It writes the port it listens on to PORTFILE and serves one
 * connection only.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int
loopback(struct sockaddr_in *sa, unsigned port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

/* Moves what is ready from one socket to the other; -1 at end or error. */
static long
relay(int from, int to, long limit)
{
	char buf[4096];
	size_t want = limit < (long)sizeof(buf) ? (size_t)limit : sizeof(buf);
	ssize_t n = read(from, buf, want), off = 0;

	if (n <= 0)
		return -1;
	while (off < n) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		off += w;
	}
	return n;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct pollfd p[2];
	long budget;
	int lfd, cfd, sfd;
	FILE *fp;

	if (argc != 4 && !(argc == 5 && strcmp(argv[4], "stall") == 0))
		return 99;
	budget = atol(argv[3]);
	lfd = loopback(&sa, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) < 0)
		return 99;
	fp = fopen(argv[1], "w");
	if (fp == NULL)
		return 99;
	fprintf(fp, "%u\n", (unsigned)ntohs(sa.sin_port));
	fclose(fp);
	cfd = accept(lfd, NULL, NULL);
	if (cfd < 0)
		return 99;
	close(lfd);
	sfd = loopback(&sa, (unsigned)atoi(argv[2]));
	if (sfd < 0 || connect(sfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 99;
	p[0].fd = cfd;
	p[1].fd = sfd;
	p[0].events = p[1].events = POLLIN;
	while (budget > 0 && poll(p, 2, -1) > 0) {
		long n;

		if (p[0].revents != 0 && relay(cfd, sfd, 1L << 30) < 0)
			break;
		if (p[1].revents != 0) {
			n = relay(sfd, cfd, budget);
			if (n < 0)
				break;
			budget -= n;
		}
	}
	if (argc == 5) {
		char c;

		/* Silent but connected, like a server that hangs. */
		while (read(cfd, &c, 1) > 0)
			;
	}
	close(cfd);
	close(sfd);
	return 0;
}
