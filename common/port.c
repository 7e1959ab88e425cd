/* csb_port_pick(): a loopback port for a listener, outside the ephemeral range. */
#include "common/port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"

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
		if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			port = candidate;
		if (fd >= 0)
			close(fd);
	}
	return port;
}
