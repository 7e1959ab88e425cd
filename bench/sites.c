/* Two sites over a slow link (issue 14): pool A and pool B each in a network namespace of
 * its own, joined by a veth pair shaped with `tc … tbf` to --site-rate (this kernel has no
 * netem), and a relay in each namespace that carries the agents' connections to the
 * other site and holds every byte --site-delay before passing it on, each way. The
 * benchmark itself reaches each agent over a management veth of its own (not shaped, not
 * delayed), so its Status polls do not queue behind the copy. Measured: the RTT through a
 * relay (an echo over it), the initial copy as a fraction of the link rate (bytes counted
 * by the relay) and the lag at --site-lag-rate. Skipped with a line where namespaces or tc
 * are refused; the namespaces (and with them every veth) are always removed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "common/clock.h"
#include "common/port.h"

#define QUEUE_MAX (32u << 20) /* bytes held in one direction before reading pauses */
#define CHUNK (64u << 10)

struct chunk {
	struct chunk *next;
	uint64_t due_us;
	size_t len, at;
	char data[];
};

/* A TCP relay in a namespace: accepts on 127.0.0.1:port there and connects each client to
 * to_addr:to_port, holding each direction's bytes delay_us. */
struct relay {
	char netns[64];
	char to_addr[32];
	int to_port, port, lfd;
	uint64_t delay_us;
	atomic_bool stop;
	atomic_uint_fast64_t down; /* bytes passed from upstream to the client */
	pthread_t thread;
	bool running;
};

struct pump {
	struct relay *r;
	int src, dst;
	bool downstream;
};

static bool enter_netns(const char *name)
{
	char path[128];
	int fd;
	bool ok;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	ok = setns(fd, CLONE_NEWNET) == 0;
	close(fd);
	return ok;
}

/* One direction: read what src sends, write it to dst once it is delay_us old. */
static void *pump_main(void *arg)
{
	struct pump *p = arg;
	struct chunk *head = NULL, **tail = &head;
	size_t queued = 0;
	bool eof = false;

	while (!atomic_load(&p->r->stop) && (!eof || head != NULL)) {
		uint64_t now = csb_mono_us();
		struct pollfd pf = {p->src, POLLIN, 0};
		int timeout = 50;

		while (head != NULL && head->due_us <= now) {
			ssize_t n = send(p->dst, head->data + head->at, head->len - head->at,
			                 MSG_NOSIGNAL);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				goto out;
			if (p->downstream)
				atomic_fetch_add(&p->r->down, (uint64_t)n);
			head->at += (size_t)n;
			if (head->at == head->len) {
				struct chunk *c = head;

				queued -= c->len;
				if ((head = c->next) == NULL)
					tail = &head;
				free(c);
			}
		}
		if (head != NULL)
			timeout = (int)((head->due_us - now + 999) / 1000);
		if (eof || queued >= QUEUE_MAX)
			pf.fd = -1;
		if (poll(&pf, 1, timeout) > 0 && (pf.revents & (POLLIN | POLLHUP | POLLERR))) {
			struct chunk *c = malloc(sizeof(*c) + CHUNK);
			ssize_t n;

			if (c == NULL)
				goto out;
			n = recv(p->src, c->data, CHUNK, 0);
			if (n <= 0) {
				free(c);
				eof = n == 0 || errno != EINTR;
				continue;
			}
			*c = (struct chunk){NULL, csb_mono_us() + p->r->delay_us, (size_t)n, 0};
			*tail = c;
			tail = &c->next;
			queued += (size_t)n;
		}
	}
out:
	shutdown(p->dst, SHUT_WR);
	while (head != NULL) {
		struct chunk *c = head;

		head = c->next;
		free(c);
	}
	free(p);
	return NULL;
}

static int connect_to(const char *addr, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void start_pump(struct relay *r, int src, int dst, bool downstream)
{
	struct pump *p = malloc(sizeof(*p));
	pthread_t t;

	if (p == NULL)
		return;
	*p = (struct pump){r, src, dst, downstream};
	if (pthread_create(&t, NULL, pump_main, p) != 0) {
		free(p);
		return;
	}
	pthread_detach(t);
}

/* Accepts until stopped; each connection gets two pumps (their sockets stay open until
 * the process ends: a relay lives as long as the mode). */
static void *relay_main(void *arg)
{
	struct relay *r = arg;

	while (!atomic_load(&r->stop)) {
		struct pollfd pf = {r->lfd, POLLIN, 0};
		int c, up, one = 1;

		if (poll(&pf, 1, 100) <= 0)
			continue;
		if ((c = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if ((up = connect_to(r->to_addr, r->to_port)) < 0) {
			close(c);
			continue;
		}
		start_pump(r, c, up, false);
		start_pump(r, up, c, true);
	}
	return NULL;
}

struct relay_start {
	struct relay *r;
	bool ok;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

/* The relay's thread enters the namespace first: its listening socket and every socket it
 * makes later belong there. */
static void *relay_boot(void *arg)
{
	struct relay_start *st = arg;
	struct relay *r = st->r;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1;
	bool ok;

	ok = enter_netns(r->netns) &&
	     (r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
	     setsockopt(r->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
	     bind(r->lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(r->lfd, 64) == 0;
	pthread_mutex_lock(&st->mu);
	st->ok = ok;
	st->done = true;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
	return ok ? relay_main(r) : NULL;
}

static bool relay_start(struct relay *r)
{
	struct relay_start st = {.r = r};

	r->lfd = -1;
	pthread_mutex_init(&st.mu, NULL);
	pthread_cond_init(&st.cv, NULL);
	if (pthread_create(&r->thread, NULL, relay_boot, &st) != 0)
		return false;
	pthread_mutex_lock(&st.mu);
	while (!st.done)
		pthread_cond_wait(&st.cv, &st.mu);
	pthread_mutex_unlock(&st.mu);
	r->running = true;
	return st.ok;
}

static void relay_stop(struct relay *r)
{
	if (!r->running)
		return;
	atomic_store(&r->stop, true);
	pthread_join(r->thread, NULL);
	if (r->lfd >= 0)
		close(r->lfd);
	r->running = false;
}

/* ---- The RTT through a relay: an echo server in A's site, pinged from B's ------------ */

struct echo {
	char netns[64];
	int port;
	struct relay *via;      /* in the other site, pointed at this echo */
	double rtt_ms;
	bool ok;
};

static void *echo_main(void *arg)
{
	struct echo *ec = arg;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ec->port)};
	double t[16];
	char b = 'x';
	int lfd, s = -1, c = -1, one = 1, n = 0;

	/* The server side listens on the site link's address; the client connects through the
	 * relay, whose socket is made in its own namespace. */
	if (!enter_netns(ec->netns) || (lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return NULL;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, ec->via->to_addr, &sa.sin_addr);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 1) != 0)
		goto out;
	if (!enter_netns(ec->via->netns) || (c = connect_to("127.0.0.1", ec->via->port)) < 0)
		goto out;
	if ((s = accept(lfd, NULL, NULL)) < 0)
		goto out;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (; n < 16; n++) {
		uint64_t t0 = csb_mono_us();

		if (send(c, &b, 1, 0) != 1 || recv(s, &b, 1, 0) != 1 || send(s, &b, 1, 0) != 1 ||
		    recv(c, &b, 1, 0) != 1)
			break;
		t[n] = (double)(csb_mono_us() - t0) / 1000.0;
	}
	ec->ok = n == 16;
	ec->rtt_ms = bench_median(t, (size_t)n);
out:
	if (c >= 0)
		close(c);
	if (s >= 0)
		close(s);
	close(lfd);
	return NULL;
}

/* ---- Setting the two sites up ---------------------------------------------------------- */

struct sites {
	char ns[2][32];     /* site A, site B */
	char mgmt[2][16];   /* root ends of the management veths */
	char why[200];
};

/* Runs a shell command; false (and why) when it fails. */
static bool sh(struct sites *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool sh(struct sites *s, const char *fmt, ...)
{
	char cmd[512], full[600];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s >/dev/null 2>&1", cmd);
	rc = system(full);
	if (rc != 0 && s->why[0] == '\0')
		snprintf(s->why, sizeof(s->why), "`%.150s` failed (exit %d)", cmd,
		         WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
	return rc == 0;
}

/* Addresses: the site link 169.254.77.1 (A) – .2 (B); management links 169.254.78.0/30 and
 * 169.254.79.0/30 (.1 the benchmark's end, .2 the site's). Link-local: never routed. */
static const char *const site_addr[2] = {"169.254.77.1", "169.254.77.2"};
static const char *const mgmt_addr[2] = {"169.254.78.2", "169.254.79.2"};

static bool sites_make(const struct bench_opts *o, struct bench_env *e, struct sites *s)
{
	int id = (int)getpid() % 100000;
	char l[2][16];

	for (int i = 0; i < 2; i++) {
		snprintf(s->ns[i], sizeof(s->ns[i]), "csbbench%d%c", id, 'a' + i);
		snprintf(s->mgmt[i], sizeof(s->mgmt[i]), "cbm%d%c", id, 'a' + i);
		snprintf(l[i], sizeof(l[i]), "cbl%d%c", id, 'a' + i);
	}
	for (int i = 0; i < 2; i++) {
		if (!sh(s, "ip netns add %s", s->ns[i]))
			return false;
		bench_env_netns_add(e, s->ns[i]);
		if (!sh(s, "ip -n %s link set lo up", s->ns[i]) ||
		    !sh(s, "ip link add %s type veth peer name eth1 netns %s", s->mgmt[i],
		        s->ns[i]) ||
		    !sh(s, "ip addr add 169.254.%d.1/30 dev %s", 78 + i, s->mgmt[i]) ||
		    !sh(s, "ip link set %s up", s->mgmt[i]) ||
		    !sh(s, "ip -n %s addr add %s/30 dev eth1", s->ns[i], mgmt_addr[i]) ||
		    !sh(s, "ip -n %s link set eth1 up", s->ns[i]))
			return false;
	}
	if (!sh(s, "ip link add %s netns %s type veth peer name %s netns %s", l[0], s->ns[0],
	        l[1], s->ns[1]))
		return false;
	for (int i = 0; i < 2; i++)
		if (!sh(s, "ip -n %s addr add %s/30 dev %s", s->ns[i], site_addr[i], l[i]) ||
		    !sh(s, "ip -n %s link set %s up", s->ns[i], l[i]) ||
		    !sh(s, "ip netns exec %s tc qdisc add dev %s root tbf rate %llumbit burst 64kb "
		        "latency 50ms", s->ns[i], l[i], (unsigned long long)o->site_rate_mbit))
			return false;
	return true;
}

static void sites_remove(struct bench_env *e, struct sites *s)
{
	for (int i = 0; i < 2; i++)
		if (s->ns[i][0] != '\0')
			bench_env_netns_remove(e, s->ns[i]); /* its veth ends go with it */
}

static void relays_init(const struct bench_opts *o, struct sites *s, struct relay r[2],
                        int port_a, int port_b)
{
	/* r[0] in site A carries A's pulls to B; r[1] in site B carries B's pulls to A. */
	for (int i = 0; i < 2; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		snprintf(r[i].netns, sizeof(r[i].netns), "%s", s->ns[i]);
		snprintf(r[i].to_addr, sizeof(r[i].to_addr), "%s", site_addr[1 - i]);
		r[i].to_port = i == 0 ? port_b : port_a;
		r[i].port = csb_port_pick();
		r[i].delay_us = (uint64_t)o->site_delay_ms * 1000;
	}
}

static void measure(const struct bench_opts *o, struct bench_env *e, struct sites *s,
                    struct relay r[2], int a, struct bench_sites *out)
{
	struct bench_opts lo = *o;
	struct relay er;
	struct echo ec;
	pthread_t t;

	/* The RTT: an echo in site A reached from site B through a relay of its own. */
	memset(&er, 0, sizeof(er));
	snprintf(er.netns, sizeof(er.netns), "%s", s->ns[1]);
	snprintf(er.to_addr, sizeof(er.to_addr), "%s", site_addr[0]);
	er.delay_us = r[1].delay_us;
	ec = (struct echo){.port = csb_port_pick(), .via = &er};
	snprintf(ec.netns, sizeof(ec.netns), "%s", s->ns[0]);
	er.to_port = ec.port;
	er.port = csb_port_pick();
	if (relay_start(&er) && pthread_create(&t, NULL, echo_main, &ec) == 0)
		pthread_join(t, NULL);
	relay_stop(&er);
	out->rtt_ms = ec.ok ? ec.rtt_ms : 2.0 * o->site_delay_ms;
	bench_note("sites: RTT through the relay %.1f ms%s", out->rtt_ms,
	           ec.ok ? "" : " (not measured: the nominal value)");

	bench_copy_run(o, e, a, CSB_VALUE_RANDOM, o->site_records, r[1].port, &out->copy);
	out->copy.wire_rx = atomic_load(&r[1].down); /* B's sockets are not in our namespace */
	out->copy.wire_ok = true;
	out->records = o->site_records;
	out->done = true;
	bench_note("sites: initial copy of %llu records in %.2f s, %.1f MB/s on the link",
	           (unsigned long long)o->site_records, out->copy.copy_s,
	           (double)out->copy.wire_rx / out->copy.copy_s / 1e6);
	if (o->site_lag_seconds <= 0)
		return;
	lo.lag_seconds = o->site_lag_seconds;
	lo.lag_rate = o->site_lag_rate;
	lo.lag_batch = 10;
	lo.lag_threads = 8;
	bench_lag_run_csb(&lo, e, a, o->site_records, &out->lag);
	out->lag_batch = lo.lag_batch;
	out->lag_done = true;
	bench_note("sites: lag p50 %.1f ms, p99 %.1f ms, max %.1f ms", out->lag.p50_ms,
	           out->lag.p99_ms, out->lag.max_ms);
}

void bench_sites_run(const struct bench_opts *o, struct bench_env *e, struct bench_sites *out)
{
	struct sites s;
	struct relay r[2];
	int a;

	memset(&s, 0, sizeof(s));
	memset(out, 0, sizeof(*out));
	if (geteuid() != 0) {
		snprintf(out->why, sizeof(out->why), "skipped: network namespaces need root");
		bench_note("sites: %s", out->why);
		return;
	}
	if (!sites_make(o, e, &s)) {
		snprintf(out->why, sizeof(out->why), "skipped: the namespaces could not be made "
		         "here: %s", s.why);
		bench_note("sites: %s", out->why);
		sites_remove(e, &s);
		return;
	}
	a = bench_env_add_pair(e);
	relays_init(o, &s, r, e->ag[a].port, e->ag[a + 1].port);
	for (int i = 0; i < 2; i++) {
		struct bench_agent *ag = &e->ag[a + i];

		snprintf(ag->netns, sizeof(ag->netns), "%s", s.ns[i]);
		snprintf(ag->host, sizeof(ag->host), "%s", mgmt_addr[i]);
		snprintf(ag->listen_host, sizeof(ag->listen_host), "0.0.0.0");
		snprintf(ag->partner_url, sizeof(ag->partner_url), "tls+tcp://127.0.0.1:%d",
		         r[i].port);
	}
	if (!relay_start(&r[0]) || !relay_start(&r[1])) {
		snprintf(out->why, sizeof(out->why), "skipped: a relay could not listen in its "
		         "namespace");
		bench_note("sites: %s", out->why);
	} else {
		bench_note("sites: %s and %s, %llu Mbit/s, %u ms each way", s.ns[0], s.ns[1],
		           (unsigned long long)o->site_rate_mbit, o->site_delay_ms);
		measure(o, e, &s, r, a, out);
	}
	bench_pair_discard(e, a);
	relay_stop(&r[0]);
	relay_stop(&r[1]);
	sites_remove(e, &s);
}
