/* Bytes on the wire, as the kernel counts them: the TCP payload (everything TLS wrote:
 * records, protobuf, envelopes, TLS framing and handshakes) of one process's connections
 * to one port, from tcp_info (tcpi_bytes_received / tcpi_bytes_acked) over sock_diag
 * netlink, the sockets matched to the process through /proc/<pid>/fd. */
#include <dirent.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench.h"

#define INODES_MAX 4096

/* The socket inodes open in process pid; count out. */
static size_t pid_sockets(pid_t pid, unsigned long *inodes)
{
	char path[64], link[64];
	struct dirent *d;
	size_t n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((dir = opendir(path)) == NULL)
		return 0;
	while ((d = readdir(dir)) != NULL && n < INODES_MAX) {
		char fd_path[384];
		ssize_t len;
		unsigned long ino;

		snprintf(fd_path, sizeof(fd_path), "%s/%.255s", path, d->d_name);
		if ((len = readlink(fd_path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%lu]", &ino) == 1)
			inodes[n++] = ino;
	}
	closedir(dir);
	return n;
}

static bool has_inode(const unsigned long *inodes, size_t n, unsigned long ino)
{
	for (size_t i = 0; i < n; i++)
		if (inodes[i] == ino)
			return true;
	return false;
}

static void add_info(const struct nlmsghdr *h, struct bench_tcp *out)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	const struct rtattr *a = (const struct rtattr *)(m + 1);
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		struct tcp_info ti;
		size_t have = RTA_PAYLOAD(a);

		if (a->rta_type != INET_DIAG_INFO)
			continue;
		memset(&ti, 0, sizeof(ti));
		memcpy(&ti, RTA_DATA(a), have < sizeof(ti) ? have : sizeof(ti));
		out->rx += ti.tcpi_bytes_received;
		out->tx += ti.tcpi_bytes_acked;
	}
}

/* Walks one reply buffer; returns 1 when the dump is complete, -1 on error, 0 for more. */
static int walk(const char *buf, ssize_t len, const unsigned long *inodes, size_t n_inodes,
                int dport, struct bench_tcp *out)
{
	const struct nlmsghdr *h = (const struct nlmsghdr *)buf;

	for (; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
		const struct inet_diag_msg *m;

		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR)
			return -1;
		m = NLMSG_DATA(h);
		if (ntohs(m->id.idiag_dport) == dport && has_inode(inodes, n_inodes, m->idiag_inode))
			add_info(h, out);
	}
	return 0;
}

csb_err bench_tcp_bytes(pid_t pid, int dport, struct bench_tcp *out)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = {.nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		        .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
		.r = {.sdiag_family = AF_INET, .sdiag_protocol = IPPROTO_TCP,
		      .idiag_ext = 1u << (INET_DIAG_INFO - 1), .idiag_states = ~0u},
	};
	unsigned long *inodes = malloc(INODES_MAX * sizeof(*inodes));
	char *buf = malloc(65536);
	size_t n_inodes;
	csb_err rv = CSB_EIO;
	int fd, done = 0;

	memset(out, 0, sizeof(*out));
	if (inodes == NULL || buf == NULL) {
		rv = CSB_ENOMEM;
		goto out_free;
	}
	n_inodes = pid_sockets(pid, inodes);
	if ((fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) < 0)
		goto out_free;
	if (send(fd, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
		goto out_close;
	while (done == 0) {
		ssize_t len = recv(fd, buf, 65536, 0);

		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			goto out_close;
		done = walk(buf, len, inodes, n_inodes, dport, out);
	}
	if (done == 1)
		rv = CSB_OK;
out_close:
	close(fd);
out_free:
	free(buf);
	free(inodes);
	return rv;
}
