/*
 * A syslog sink for the end-to-end tests: binds an AF_UNIX datagram
 * socket at SOCKET (inside the tests' private mount namespace that is
 * /dev/log, which this machine does not have) and appends every message it
 * receives to LOG, one line each, so a test can assert what sshd and
 * pam_orgauth logged.  Runs until it is killed.
 *
 * usage: syslog-sink SOCKET LOG READY
 * READY is created once the socket is bound, so the caller can wait for it.
 *
 * usage: syslog-sink --send SOCKET MESSAGE
 * sends one message to the sink, as syslog(3) would: the harness's marker
 * (see sshh_log_sync).  logger(1) would do, but in a sanitizer build every
 * program in the namespace runs with the ASan runtime preloaded, and
 * logger then hangs at start-up; this program is built for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int
sink_bind(const char *path)
{
	struct sockaddr_un addr;
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "syslog-sink: socket path too long\n");
		return -1;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("syslog-sink: socket");
		return -1;
	}
	(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    chmod(path, 0666) != 0) {
		perror("syslog-sink: bind");
		close(fd);
		return -1;
	}
	return fd;
}

/* Writes all of buf; a short write is retried. */
static int
sink_write(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
sink_send(const char *path, const char *message)
{
	struct sockaddr_un addr;
	int fd, ret = 1;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "syslog-sink: socket path too long\n");
		return 1;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("syslog-sink: socket");
		return 1;
	}
	if (sendto(fd, message, strlen(message), 0, (struct sockaddr *)&addr,
		   sizeof(addr)) < 0)
		perror("syslog-sink: send");
	else
		ret = 0;
	close(fd);
	return ret;
}

int
main(int argc, char **argv)
{
	char buf[8192];
	int sock, out, ready;

	if (argc == 4 && strcmp(argv[1], "--send") == 0)
		return sink_send(argv[2], argv[3]);
	if (argc != 4) {
		fprintf(stderr, "usage: syslog-sink SOCKET LOG READY\n"
				"       syslog-sink --send SOCKET MESSAGE\n");
		return 2;
	}
	sock = sink_bind(argv[1]);
	if (sock < 0)
		return 1;
	out = open(argv[2], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (out < 0) {
		perror("syslog-sink: open log");
		return 1;
	}
	ready = open(argv[3], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (ready < 0) {
		perror("syslog-sink: open ready file");
		return 1;
	}
	close(ready);

	for (;;) {
		ssize_t n = recv(sock, buf, sizeof(buf) - 1, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("syslog-sink: recv");
			return 1;
		}
		/* One message per line, whatever the sender ended it with. */
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
			n--;
		buf[n++] = '\n';
		if (sink_write(out, buf, (size_t)n) != 0) {
			perror("syslog-sink: write");
			return 1;
		}
	}
}
