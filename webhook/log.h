/*
 * Logging: one JSON object per line on stderr, so a log pipeline parses every line. Messages are
 * short texts; never pass object contents (Secret data in particular) to these functions.
 *
 * Every line is well-formed UTF-8 (a byte that begins no character is written as U+FFFD), at most
 * LOG_LINE_MAX bytes, and written whole, however long, even when threads log at once into a pipe.
 * Text copied from a request goes in with log_add_text: at most LOG_FIELD_MAX bytes, ended with
 * LOG_CUT_MARK when it was longer.
 */
#ifndef MG_LOG_H
#define MG_LOG_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Bytes of request text a field keeps; the API server's own names are at most 253. */
#define LOG_FIELD_MAX 256
/* Ends a value that was cut: "…[cut]". */
#define LOG_CUT_MARK "\xe2\x80\xa6[cut]"
/* Bytes in a line, its newline included, whatever the number of fields: a line over it has every string
 * value cut to LOG_FIELD_MAX, and if still over, only time, level and msg are kept, with
 * "fieldsDropped": true. */
#define LOG_LINE_MAX 16384

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
/* Add text from a request (any bytes, any length; NULL is "") to the object o as key: well-formed UTF-8,
 * at most LOG_FIELD_MAX bytes of it and LOG_CUT_MARK after them when it was longer. NULL o: nothing. */
void log_add_text(cJSON *o, const char *key, const char *s);
/* Write the line as one JSON object on one line, and free it. */
void log_line_write(cJSON *line);

#endif
