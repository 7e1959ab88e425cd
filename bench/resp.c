/* A small Redis client for the bench: RESP2 over a TCP socket to a redis-server on
 * loopback, with commands built into one buffer (so that several go out in one write,
 * pipelined) and replies read one at a time. Only what the bench asks Redis: MSET, INCR,
 * GET, INFO, PING, SHUTDOWN; no arrays come back. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench.h"

struct bench_resp {
	int fd;
	char *out;          /* commands not sent yet */
	size_t out_len, out_cap;
	char in[1 << 16];   /* bytes received, not parsed yet: in[in_at..in_len) */
	size_t in_at, in_len;
};

csb_err bench_resp_open(const char *host, int port, struct bench_resp **out)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct bench_resp *r;
	int one = 1;

	*out = NULL;
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return CSB_EINVAL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return CSB_ENOMEM;
	if ((r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		free(r);
		return CSB_EIO;
	}
	if (connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(r->fd);
		free(r);
		return CSB_EUNREACH;
	}
	setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*out = r;
	return CSB_OK;
}

void bench_resp_close(struct bench_resp *r)
{
	if (r == NULL)
		return;
	close(r->fd);
	free(r->out);
	free(r);
}

static bool put(struct bench_resp *r, const void *p, size_t n)
{
	if (r->out_len + n > r->out_cap) {
		size_t cap = r->out_cap ? r->out_cap : 4096;
		char *b;

		while (cap < r->out_len + n)
			cap *= 2;
		if ((b = realloc(r->out, cap)) == NULL)
			return false;
		r->out = b;
		r->out_cap = cap;
	}
	memcpy(r->out + r->out_len, p, n);
	r->out_len += n;
	return true;
}

csb_err bench_resp_begin(struct bench_resp *r, unsigned argc)
{
	char head[32];
	int n = snprintf(head, sizeof(head), "*%u\r\n", argc);

	return put(r, head, (size_t)n) ? CSB_OK : CSB_ENOMEM;
}

csb_err bench_resp_arg(struct bench_resp *r, const void *p, size_t len)
{
	char head[32];
	int n = snprintf(head, sizeof(head), "$%zu\r\n", len);

	return put(r, head, (size_t)n) && put(r, p, len) && put(r, "\r\n", 2) ? CSB_OK
	                                                                    : CSB_ENOMEM;
}

csb_err bench_resp_cmd(struct bench_resp *r, const char *const *argv, unsigned argc)
{
	csb_err rv = bench_resp_begin(r, argc);

	for (unsigned i = 0; i < argc && rv == CSB_OK; i++)
		rv = bench_resp_arg(r, argv[i], strlen(argv[i]));
	return rv;
}

csb_err bench_resp_send(struct bench_resp *r)
{
	size_t at = 0;

	while (at < r->out_len) {
		ssize_t n = send(r->fd, r->out + at, r->out_len - at, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r->out_len = 0;
			return CSB_EIO;
		}
		at += (size_t)n;
	}
	r->out_len = 0;
	return CSB_OK;
}

/* Makes at least one more byte available in in[]. */
static csb_err fill(struct bench_resp *r)
{
	ssize_t n;

	if (r->in_at > 0) {
		memmove(r->in, r->in + r->in_at, r->in_len - r->in_at);
		r->in_len -= r->in_at;
		r->in_at = 0;
	}
	if (r->in_len == sizeof(r->in))
		return CSB_EPROTO; /* a header line longer than the buffer */
	do
		n = recv(r->fd, r->in + r->in_len, sizeof(r->in) - r->in_len, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return CSB_EIO;
	r->in_len += (size_t)n;
	return CSB_OK;
}

/* The next line without its CRLF, into line (NUL-terminated, cut at cap). */
static csb_err read_line(struct bench_resp *r, char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(r->in + r->in_at, '\n', r->in_len - r->in_at);
		csb_err rv;

		if (nl != NULL) {
			size_t n = (size_t)(nl - (r->in + r->in_at));

			if (n > 0 && r->in[r->in_at + n - 1] == '\r')
				n--;
			snprintf(line, cap, "%.*s", (int)n, r->in + r->in_at);
			r->in_at = (size_t)(nl - r->in) + 1;
			return CSB_OK;
		}
		if ((rv = fill(r)) != CSB_OK)
			return rv;
	}
}

csb_err bench_resp_read(struct bench_resp *r, struct bench_resp_reply *out)
{
	char line[512];
	long long len;
	size_t have = 0;
	csb_err rv;

	memset(out, 0, sizeof(*out));
	if ((rv = read_line(r, line, sizeof(line))) != CSB_OK)
		return rv;
	out->type = line[0];
	switch (line[0]) {
	case '+':
	case '-':
		snprintf(out->text, sizeof(out->text), "%.250s", line + 1);
		return CSB_OK;
	case ':':
		out->num = strtoll(line + 1, NULL, 10);
		return CSB_OK;
	case '$':
		len = strtoll(line + 1, NULL, 10);
		if (len < 0) {
			out->type = '_'; /* nil */
			return CSB_OK;
		}
		if ((out->str = malloc((size_t)len + 3)) == NULL)
			return CSB_ENOMEM;
		while (have < (size_t)len + 2) { /* the bytes and their CRLF */
			size_t n = r->in_len - r->in_at;

			if (n == 0 && (rv = fill(r)) != CSB_OK) {
				free(out->str);
				out->str = NULL;
				return rv;
			}
			n = r->in_len - r->in_at;
			if (n > (size_t)len + 2 - have)
				n = (size_t)len + 2 - have;
			memcpy(out->str + have, r->in + r->in_at, n);
			r->in_at += n;
			have += n;
		}
		out->str[len] = '\0';
		out->len = (size_t)len;
		return CSB_OK;
	default:
		return CSB_EPROTO; /* arrays and RESP3: the bench asks for none */
	}
}

void bench_resp_reply_free(struct bench_resp_reply *rep)
{
	free(rep->str);
	rep->str = NULL;
}

csb_err bench_resp_call(struct bench_resp *r, const char *const *argv, unsigned argc,
                        struct bench_resp_reply *out)
{
	csb_err rv;

	if ((rv = bench_resp_cmd(r, argv, argc)) != CSB_OK || (rv = bench_resp_send(r)) != CSB_OK)
		return rv;
	return bench_resp_read(r, out);
}
