/* csb_exit_deadline(): the daemons' stop deadline; a later call may bring it forward. */
#include "common/deadline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"

static atomic_uint_fast64_t deadline_at; /* csb_mono_ms() to exit at; 0: none */
static const char *deadline_component;   /* NULL: exit without a word */
static atomic_int deadline_code;

static void *deadline_main(void *arg)
{
	uint64_t at, now;

	(void)arg;
	while ((now = csb_mono_ms()) < (at = atomic_load(&deadline_at)))
		csb_sleep_ms(at - now < 50 ? at - now : 50);
	if (deadline_component != NULL)
		csb_warn(deadline_component, "stop did not finish in time (sockets closing in nng); "
		         "exiting with every commit durable");
	_exit(atomic_load(&deadline_code));
	return NULL;
}

void csb_exit_deadline_code(const char *component, uint32_t ms, int code)
{
	atomic_store(&deadline_code, code);
	csb_exit_deadline(component, ms);
}

void csb_exit_deadline(const char *component, uint32_t ms)
{
	uint64_t at = csb_mono_ms() + ms, cur = atomic_load(&deadline_at);
	pthread_t t;

	if (cur != 0) { /* armed: only ever sooner */
		while (at < cur && !atomic_compare_exchange_weak(&deadline_at, &cur, at))
			;
		return;
	}
	deadline_component = component;
	atomic_store(&deadline_at, at);
	if (pthread_create(&t, NULL, deadline_main, NULL) == 0)
		pthread_detach(t);
}
