/*
 * JSON-lines logging on stderr. Each line is built in full and written with one write(2), so lines
 * from the server threads and the cache thread never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "utf8.h"

static enum log_level min_level = LOG_LEVEL_INFO;

int log_set_level(const char *name)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i]) == 0) {
            min_level = (enum log_level)i;
            return 0;
        }
    return -1;
}

static void write_line(const char *s)
{
    size_t n = strlen(s);
    char *line = malloc(n + 2);

    if (!line)
        return;
    memcpy(line, s, n);
    line[n] = '\n';
    /* stderr is unbuffered; one write keeps the line whole. */
    if (write(STDERR_FILENO, line, n + 1) < 0) {
        /* Nowhere left to report a failed log write. */
    }
    free(line);
}

static void log_timestamp(char *buf, size_t len)
{
    struct timespec now;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(now.tv_nsec / 1000000));
}

cJSON *log_line_new(enum log_level level, const char *msg)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    char ts[64];
    cJSON *o;

    if (level < min_level || !(o = cJSON_CreateObject()))
        return NULL;
    log_timestamp(ts, sizeof(ts));
    cJSON_AddStringToObject(o, "time", ts);
    cJSON_AddStringToObject(o, "level", names[level]);
    cJSON_AddStringToObject(o, "msg", msg);
    return o;
}

void log_line_merge(cJSON *line, const cJSON *fields)
{
    const cJSON *f;

    if (!line || !cJSON_IsObject(fields))
        return;
    cJSON_ArrayForEach(f, fields)
        cJSON_AddItemToObject(line, f->string, cJSON_Duplicate(f, 1));
}

void log_line_write(cJSON *line)
{
    char *s;

    if (!line)
        return;
    s = cJSON_PrintUnformatted(line);
    if (s)
        write_line(s);
    cJSON_free(s);
    cJSON_Delete(line);
}

static void log_v(enum log_level level, const char *fmt, va_list ap)
{
    char msg[1024];
    int n;

    if (level < min_level)
        return;
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    /* Cut short: never in the middle of a UTF-8 character, or the line would not be valid JSON. */
    if (n >= (int)sizeof(msg))
        msg[utf8_complete(msg, sizeof(msg) - 1)] = '\0';
    log_line_write(log_line_new(level, msg));
}

#define LOG_FN(fn, level)                                                                                  \
    void fn(const char *fmt, ...)                                                                          \
    {                                                                                                      \
        va_list ap;                                                                                        \
        va_start(ap, fmt);                                                                                 \
        log_v(level, fmt, ap);                                                                             \
        va_end(ap);                                                                                        \
    }
LOG_FN(log_debug, LOG_LEVEL_DEBUG)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_error, LOG_LEVEL_ERROR)

void log_fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_v(LOG_LEVEL_ERROR, fmt, ap);
    va_end(ap);
    exit(1);
}
