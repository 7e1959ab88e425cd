/* A stop deadline for the daemons: nng 1.5.2's nng_close() can deadlock in its reaper
 * (nanomsg/nng#1543, #1813; fixed only in later nng). The daemons finish every store write
 * before they close their sockets, so past the deadline exiting is safe: nothing is lost. */
#ifndef CSB_COMMON_DEADLINE_H
#define CSB_COMMON_DEADLINE_H

#include <stdint.h>

/* Ends the process with status 0, after one warning for component, unless it has exited
 * within ms milliseconds. The first call arms it (a detached thread); later calls may only
 * bring the deadline forward. Call when a clean stop begins, and again with a shorter
 * delay once every store write is done. */
void csb_exit_deadline(const char *component, uint32_t ms);

/* The same for a command that has done its work and only closes its connections: ends the
 * process with status code, silently when component is NULL. */
void csb_exit_deadline_code(const char *component, uint32_t ms, int code);

#endif
