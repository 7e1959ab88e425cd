/* Clocks: wall time for records and reports, monotonic time for deadlines and lags. */
#ifndef CSB_COMMON_CLOCK_H
#define CSB_COMMON_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
uint64_t csb_now_ms(void);

/* Milliseconds of CLOCK_BOOTTIME: monotonic and counting through a suspend or a pause of
 * the machine, for leases. */
uint64_t csb_boot_ms(void);

/* Monotonic milliseconds (CLOCK_MONOTONIC), for deadlines and durations. */
uint64_t csb_mono_ms(void);

/* Monotonic microseconds, for benchmarks and lag measurement. */
uint64_t csb_mono_us(void);

/* Sleeps ms milliseconds (restarting after signals). */
void csb_sleep_ms(uint64_t ms);

#endif
