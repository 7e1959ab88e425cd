/* The retry policy: counted attempts with constant or growing waits. */
#include "common/retry.h"

#include <stddef.h>

#include "common/clock.h"

void csb_retry_start(csb_retry *r, const csb_retry_policy *p)
{
	r->policy = *p;
	if (r->policy.attempts == 0)
		r->policy.attempts = 1;
	if (r->policy.backoff_pct == 0)
		r->policy.backoff_pct = 100;
	r->attempt = 0;
	r->next_wait_ms = r->policy.wait_ms;
}

bool csb_retry_next(csb_retry *r, uint64_t *wait_ms)
{
	uint64_t w = r->next_wait_ms;

	r->attempt++;
	if (r->attempt >= r->policy.attempts)
		return false;
	if (r->policy.max_wait_ms != 0 && w > r->policy.max_wait_ms)
		w = r->policy.max_wait_ms;
	if (wait_ms != NULL)
		*wait_ms = w;
	r->next_wait_ms = w * r->policy.backoff_pct / 100;
	return true;
}

bool csb_retry_wait(csb_retry *r)
{
	uint64_t w;

	if (!csb_retry_next(r, &w))
		return false;
	csb_sleep_ms(w);
	return true;
}

bool csb_err_retryable(csb_err rv)
{
	switch (rv) {
	case CSB_ETIMEDOUT:
	case CSB_EUNREACH:
	case CSB_EBUSY:
	case CSB_ECLOSED:
	case CSB_ENOTCONN:
		return true;
	default:
		return false;
	}
}
