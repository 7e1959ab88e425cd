/* Retry policy: one object for "try, wait, try again" shared by the agent's sync loops and
 * the CLI's RetryCount/WaitTime (SPEC.md §4 Backup-CsPool). */
#ifndef CSB_COMMON_RETRY_H
#define CSB_COMMON_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

typedef struct csb_retry_policy {
	unsigned attempts;    /* attempts in all (RetryCount); 0 counts as 1 */
	uint64_t wait_ms;     /* wait before the second attempt (WaitTime) */
	unsigned backoff_pct; /* each further wait is this % of the previous: 100 = constant
	                       * (RetryCount/WaitTime checks), 200 = doubling (RPC retries) */
	uint64_t max_wait_ms; /* cap on one wait; 0 = no cap */
} csb_retry_policy;

/* Backup-CsPool's defaults: 10 checks, 5 s apart. */
#define CSB_RETRY_CHECKS_DEFAULT {10, 5000, 100, 0}
/* RPC calls inside the product: 5 attempts, 100 ms doubling to at most 2 s. */
#define CSB_RETRY_RPC_DEFAULT {5, 100, 200, 2000}

/* One run of a policy: which attempt is next and how long the next wait is. */
typedef struct csb_retry {
	csb_retry_policy policy;
	unsigned attempt;  /* attempts made so far */
	uint64_t next_wait_ms;
} csb_retry;

void csb_retry_start(csb_retry *r, const csb_retry_policy *p);

/* Records one attempt. Returns true (and the wait before the next attempt in *wait_ms,
 * which may be NULL) while the policy allows another attempt, false when spent. Never
 * sleeps: state machines call it from their tick. */
bool csb_retry_next(csb_retry *r, uint64_t *wait_ms);

/* csb_retry_next() followed by the sleep; for simple blocking loops. */
bool csb_retry_wait(csb_retry *r);

/* Whether an error is worth retrying: the peer was unreachable, busy, or slow. */
bool csb_err_retryable(csb_err rv);

#endif
