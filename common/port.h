/* Picking a TCP port for a loopback listener (local clusters, tests, benchmarks). */
#ifndef CSB_COMMON_PORT_H
#define CSB_COMMON_PORT_H

/* A port free on 127.0.0.1 now, picked at random below the kernel's ephemeral range
 * (32768 and up on Linux): a port bind(0) hands out can be taken by any process's outgoing
 * connection before the listener binds it. Never the same port twice in one process (the
 * last 256 are remembered). Returns 0 when none is found. Not thread-safe. */
int csb_port_pick(void);

#endif
