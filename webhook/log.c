/*
 * JSON-lines logging on stderr. Each line is built in full, made well-formed UTF-8 and bounded, then
 * written under one process-wide lock, looping over short writes: a pipe takes a write of more than
 * PIPE_BUF bytes in pieces, which a single write(2) from each thread would let interleave.
 */
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "utf8.h"

static enum log_level min_level = LOG_LEVEL_INFO;
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

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

/* All of p[0..n) on stderr, whatever the number of write(2) calls it takes. */
static void write_all(const char *p, size_t n)
{
    struct pollfd pfd = {.fd = STDERR_FILENO, .events = POLLOUT};
    ssize_t w;

    pthread_mutex_lock(&write_lock);
    while (n > 0) {
        w = write(STDERR_FILENO, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && errno == EAGAIN && poll(&pfd, 1, 1000) > 0) {
            continue; /* a non-blocking stderr that was full has room again */
        } else {
            break; /* nowhere left to report a failed log write; never hang a request on it */
        }
    }
    pthread_mutex_unlock(&write_lock);
}

static void write_line(const char *s)
{
    size_t n = strlen(s);
    char *line = malloc(n + 2);

    if (!line)
        return;
    memcpy(line, s, n);
    line[n] = '\n';
    write_all(line, n + 1);
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

/* text as log_add_text keeps it (max > 0), or whole but well-formed (max 0); NULL when out of memory. */
static char *clean_text(const char *text, size_t max)
{
    size_t size = max ? max + 1 : strlen(text) * 3 + 1; /* a U+FFFD (3 bytes) for each bad byte at worst */
    char *out = malloc(size + sizeof(LOG_CUT_MARK));
    int cut;

    if (!out)
        return NULL;
    utf8_sanitize(out, size, text, &cut);
    if (cut)
        strcat(out, LOG_CUT_MARK);
    return out;
}

void log_add_text(cJSON *o, const char *key, const char *s)
{
    char *v;

    if (!o || !(v = clean_text(s ? s : "", LOG_FIELD_MAX)))
        return;
    cJSON_AddStringToObject(o, key, v);
    free(v);
}

/* Every string value under node made well-formed UTF-8, and cut as log_add_text cuts when max > 0. */
static void clean_strings(cJSON *node, size_t max)
{
    char *v;

    for (; node; node = node->next) {
        clean_strings(node->child, max);
        if (!cJSON_IsString(node) || !node->valuestring || (utf8_valid(node->valuestring) &&
                                                            (!max || strlen(node->valuestring) <= max)))
            continue;
        if (!(v = clean_text(node->valuestring, max)))
            continue; /* out of memory: the line is dropped below if it is still too long */
        if (!(node->type & cJSON_IsReference))
            cJSON_free(node->valuestring);
        node->valuestring = v;
        node->type &= ~cJSON_IsReference;
    }
}

/* Only time, level and msg, and a field saying the others were dropped. */
static void drop_fields(cJSON *line)
{
    cJSON *f = line->child, *next;

    for (; f; f = next) {
        next = f->next;
        if (strcmp(f->string, "time") != 0 && strcmp(f->string, "level") != 0 && strcmp(f->string, "msg") != 0)
            cJSON_Delete(cJSON_DetachItemViaPointer(line, f));
    }
    cJSON_AddTrueToObject(line, "fieldsDropped");
}

/* The line printed within LOG_LINE_MAX (the newline included), or NULL. */
static char *print_bounded(cJSON *line)
{
    char *s;
    int pass;

    clean_strings(line->child, 0);
    for (pass = 0; pass < 3; pass++) {
        if (pass == 1)
            clean_strings(line->child, LOG_FIELD_MAX);
        else if (pass == 2)
            drop_fields(line);
        if ((s = cJSON_PrintUnformatted(line)) != NULL && strlen(s) < LOG_LINE_MAX)
            return s;
        cJSON_free(s);
    }
    return NULL;
}

void log_line_write(cJSON *line)
{
    char *s;

    if (!line)
        return;
    s = print_bounded(line);
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
