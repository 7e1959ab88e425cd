/* Logging: one line per event on stderr, `time level component message key=value…`
 * (SPEC.md §6). Thread-safe; each line is written with one write(2). Under systemd
 * (JOURNAL_STREAM set) each line starts with its syslog priority ("<6>" info, "<4>" warn,
 * "<3>" error, "<7>" debug), which journald takes and strips. */
#ifndef CSB_COMMON_LOG_H
#define CSB_COMMON_LOG_H

typedef enum csb_log_level {
	CSB_LOG_DEBUG,
	CSB_LOG_INFO,
	CSB_LOG_WARN,
	CSB_LOG_ERROR,
} csb_log_level;

/* Lines below level are dropped; the default is CSB_LOG_INFO, or CSB_LOG_LEVEL from the
 * environment (debug, info, warn, error) read at the first log call. */
void csb_log_set_level(csb_log_level level);

/* Logs one event. component is a short word (agent, store, rpc, sync); fmt is the message
 * followed by key=value pairs, e.g. csb_log(CSB_LOG_INFO, "sync", "batch applied pool=%s
 * module=%s seq=%llu", …). The line is truncated at 4 KiB. */
void csb_log(csb_log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define csb_debug(comp, ...) csb_log(CSB_LOG_DEBUG, comp, __VA_ARGS__)
#define csb_info(comp, ...) csb_log(CSB_LOG_INFO, comp, __VA_ARGS__)
#define csb_warn(comp, ...) csb_log(CSB_LOG_WARN, comp, __VA_ARGS__)
#define csb_error(comp, ...) csb_log(CSB_LOG_ERROR, comp, __VA_ARGS__)

#endif
