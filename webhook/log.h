/*
 * Logging: one JSON object per line on stderr, so a log pipeline parses every line. Messages are
 * short texts; never pass object contents (Secret data in particular) to these functions.
 */
#ifndef MG_LOG_H
#define MG_LOG_H

#include <stddef.h>

#include <cjson/cJSON.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* Set the lowest level printed; returns -1 for an unknown name ("debug", "info", "warn", "error"). */
int log_set_level(const char *name);
/* One line {"time","level","msg"}, printf-style message. Thread-safe. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log at error level and exit(1). */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* A log line to fill with fields before log_line_write: {"time","level","msg"}; NULL when the level is
 * below --log-level (or out of memory), which log_line_write and cJSON's Add functions accept. */
cJSON *log_line_new(enum log_level level, const char *msg);
/* Add a copy of every field of the object fields to line (NULL line or fields: nothing). */
void log_line_merge(cJSON *line, const cJSON *fields);
/* Write the line as one JSON object on one line, and free it. */
void log_line_write(cJSON *line);

#endif
