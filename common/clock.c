/* Wall and monotonic clocks in milliseconds. */
#include "common/clock.h"

#include <errno.h>
#include <time.h>

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t csb_boot_ms(void)
{
	return clock_us(CLOCK_BOOTTIME) / 1000u;
}

uint64_t csb_now_ms(void)
{
	return clock_us(CLOCK_REALTIME) / 1000u;
}

uint64_t csb_mono_ms(void)
{
	return clock_us(CLOCK_MONOTONIC) / 1000u;
}

uint64_t csb_mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

void csb_sleep_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
