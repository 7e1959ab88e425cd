/* csb_port_pick(): a loopback port for a listener, outside the ephemeral range. */
#include "common/port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"

/* Ports this process handed out: nothing binds them until the caller's listener does, so a
 * bind check alone would hand the same port out twice. */
static int given[256];
static unsigned n_given;

static bool was_given(int port)
{
	for (unsigned i = 0; i < n_given && i < 256; i++)
		if (given[i] == port)
			return true;
	return false;
}

int csb_port_pick(void)
{
	static unsigned seed;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int port = 0;

	if (seed == 0)
		seed = (unsigned)getpid() ^ (unsigned)csb_mono_us();
	for (int tries = 0; tries < 200 && port == 0; tries++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), candidate;

		seed = seed * 1103515245u + 12345u;
		candidate = 20000 + (int)((seed >> 8) % 12000);
		sa.sin_port = htons((uint16_t)candidate);
		if (fd >= 0 && !was_given(candidate) &&
		    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			port = candidate;
		if (fd >= 0)
			close(fd);
	}
	if (port != 0)
		given[n_given++ % 256] = port;
	return port;
}
