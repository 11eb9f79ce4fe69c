/* Log lines: one JSON object per line, valid UTF-8 even when a long message is cut, request text
 * bounded and marked as cut, every line bounded, and lines whole when threads write long ones into a
 * pipe at once. */
#include <pthread.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "utf8.h"

/* 1 when s[0..n) is well-formed UTF-8 (no truncated or stray sequences). */
static int well_formed(const unsigned char *s, size_t n)
{
    size_t i = 0, k, len;

    while (i < n) {
        len = s[i] < 0x80 ? 1 : (s[i] & 0xE0) == 0xC0 ? 2 : (s[i] & 0xF0) == 0xE0 ? 3 : (s[i] & 0xF8) == 0xF0 ? 4 : 0;
        if (!len || i + len > n)
            return 0;
        for (k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
        i += len;
    }
    return 1;
}

/* Run log_info(text) with stderr sent to a file; return what was written (static buffer). */
static const char *logged(const char *text, size_t *n)
{
    static char out[4096];
    FILE *f = tmpfile();
    int saved = dup(STDERR_FILENO);

    dup2(fileno(f), STDERR_FILENO);
    log_info("%s", text);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(f);
    *n = fread(out, 1, sizeof(out) - 1, f);
    out[*n] = '\0';
    fclose(f);
    return out;
}

static void long_messages_are_cut_on_a_character_boundary(void)
{
    char text[1100];
    size_t pad, n;

    /* A 2-, 3- and 4-byte character straddling the 1023-byte cut, at every offset. */
    static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x9a\x80"};
    size_t c;

    for (c = 0; c < 3; c++)
        for (pad = 1016; pad <= 1023; pad++) {
            const char *line;
            cJSON *j;

            memset(text, 'a', pad);
            text[pad] = '\0';
            while (strlen(text) + 4 < sizeof(text) - 1)
                strcat(text, chars[c]);
            line = logged(text, &n);
            CHECK(n > 0 && line[n - 1] == '\n');
            CHECK(memchr(line, '\n', n) == line + n - 1); /* exactly one line */
            CHECK(well_formed((const unsigned char *)line, n));
            j = cJSON_Parse(line);
            CHECK(j != NULL);
            CHECK(cJSON_GetStringValue(cJSON_GetObjectItem(j, "msg")) != NULL);
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "level")), "info");
            cJSON_Delete(j);
        }
}

static void lines_below_the_level_are_not_written(void)
{
    size_t n;

    CHECK_INT(log_set_level("warn"), 0);
    logged("quiet", &n);
    CHECK_INT(n, 0);
    CHECK_INT(log_set_level("info"), 0);
    CHECK_INT(log_set_level("loud"), -1);
}

/* stderr sent into a pipe, drained by a thread into a growing buffer, as a log collector reads it. */
struct capture {
    int fds[2], saved;
    pthread_t reader;
    char *data;
    size_t len;
};

static void *drain(void *arg)
{
    struct capture *c = arg;
    char chunk[65536];
    ssize_t n;

    while ((n = read(c->fds[0], chunk, sizeof(chunk))) > 0) {
        c->data = realloc(c->data, c->len + (size_t)n + 1);
        memcpy(c->data + c->len, chunk, (size_t)n);
        c->len += (size_t)n;
        c->data[c->len] = '\0';
    }
    return NULL;
}

static void capture_start(struct capture *c)
{
    memset(c, 0, sizeof(*c));
    if (pipe(c->fds) != 0)
        abort();
    c->saved = dup(STDERR_FILENO);
    dup2(c->fds[1], STDERR_FILENO);
    close(c->fds[1]);
    pthread_create(&c->reader, NULL, drain, c);
}

/* Restore stderr and return what was written ("" for nothing); the caller frees it. */
static char *capture_end(struct capture *c)
{
    dup2(c->saved, STDERR_FILENO); /* closes the pipe's last write end: the reader sees EOF */
    close(c->saved);
    pthread_join(c->reader, NULL);
    close(c->fds[0]);
    return c->data ? c->data : calloc(1, 1);
}

/* The one line written, parsed; checks it is one line of valid UTF-8 within LOG_LINE_MAX. */
static cJSON *one_line(const char *out)
{
    size_t n = strlen(out);

    CHECK(n > 0 && n <= LOG_LINE_MAX && out[n - 1] == '\n');
    CHECK(memchr(out, '\n', n) == out + n - 1);
    CHECK(well_formed((const unsigned char *)out, strlen(out)) && utf8_valid(out));
    return cJSON_Parse(out);
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = s ? strlen(s) : 0, t = strlen(tail);

    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* A 5 MB uid and a raw 0xFF in a name: short, marked as cut, well-formed. */
static void request_text_is_bounded_marked_and_well_formed(void)
{
    size_t big = 5u << 20;
    char *uid = malloc(big + 1), *out;
    struct capture c;
    cJSON *line, *j;
    const char *v;

    memset(uid, 'u', big);
    uid[big] = '\0';
    capture_start(&c);
    line = log_line_new(LOG_LEVEL_INFO, "admission");
    log_add_text(line, "uid", uid);
    log_add_text(line, "name", "pod\xff" "info");
    log_add_text(line, "namespace", "t\xc3\xa9st");
    log_add_text(line, "user", NULL);
    log_line_write(line);
    out = capture_end(&c);
    j = one_line(out);
    CHECK(strlen(out) < 1024);
    v = cJSON_GetStringValue(cJSON_GetObjectItem(j, "uid"));
    CHECK(v && strlen(v) == LOG_FIELD_MAX + strlen(LOG_CUT_MARK) && ends_with(v, LOG_CUT_MARK));
    CHECK(v && strspn(v, "u") == LOG_FIELD_MAX);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "name")), "pod\xef\xbf\xbd" "info");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "namespace")), "t\xc3\xa9st"); /* kept whole */
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "user")), "");
    cJSON_Delete(j);
    free(out);
    free(uid);
}

/* A field cut at LOG_FIELD_MAX never splits a character: a euro sign straddling the limit goes whole. */
static void a_cut_field_keeps_whole_characters(void)
{
    char text[LOG_FIELD_MAX + 8];
    const char *v;
    cJSON *o = cJSON_CreateObject();
    size_t pad;

    for (pad = LOG_FIELD_MAX - 3; pad <= LOG_FIELD_MAX; pad++) {
        memset(text, 'a', pad);
        strcpy(text + pad, "\xe2\x82\xac" "zz");
        cJSON_DeleteItemFromObject(o, "f");
        log_add_text(o, "f", text);
        v = cJSON_GetStringValue(cJSON_GetObjectItem(o, "f"));
        CHECK(v && well_formed((const unsigned char *)v, strlen(v)) && ends_with(v, LOG_CUT_MARK));
        CHECK(v && strlen(v) - strlen(LOG_CUT_MARK) <= LOG_FIELD_MAX);
    }
    cJSON_Delete(o);
}

/* Text that reached a line without log_add_text (a message, a merged field) is made well-formed too. */
static void every_string_in_a_line_is_made_well_formed(void)
{
    struct capture c;
    cJSON *line, *j, *nested;
    char *out;

    capture_start(&c);
    line = log_line_new(LOG_LEVEL_WARN, "bad \xc3(");
    nested = cJSON_AddObjectToObject(line, "override");
    cJSON_AddStringToObject(nested, "reason", "\xed\xa0\x80 surrogate");
    log_line_write(line);
    log_warn("path /x\xfe\xfe");
    out = capture_end(&c);
    CHECK(well_formed((const unsigned char *)out, strlen(out)) && utf8_valid(out));
    CHECK(strchr(out, '\n') != NULL);
    j = cJSON_Parse(out);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "msg")), "bad \xef\xbf\xbd(");
    cJSON_Delete(j);
    j = cJSON_Parse(strchr(out, '\n') + 1);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "msg")), "path /x\xef\xbf\xbd\xef\xbf\xbd");
    cJSON_Delete(j);
    free(out);
}

static cJSON *line_with_fields(int fields, size_t len)
{
    cJSON *line = log_line_new(LOG_LEVEL_INFO, "many fields");
    char key[32], *v = malloc(len + 1);
    int i;

    memset(v, 'x', len);
    v[len] = '\0';
    for (i = 0; i < fields; i++) {
        snprintf(key, sizeof(key), "f%d", i);
        cJSON_AddStringToObject(line, key, v);
    }
    free(v);
    return line;
}

/* Past LOG_LINE_MAX the values are cut first; if that is not enough, only time, level and msg stay. */
static void a_line_is_bounded_whatever_its_fields(void)
{
    struct capture c;
    cJSON *j;
    char *out;
    const char *v;

    capture_start(&c);
    log_line_write(line_with_fields(20, 4000)); /* 80 KB: fits once each value is cut */
    out = capture_end(&c);
    j = one_line(out);
    v = cJSON_GetStringValue(cJSON_GetObjectItem(j, "f19"));
    CHECK(v && ends_with(v, LOG_CUT_MARK));
    CHECK(cJSON_GetObjectItem(j, "fieldsDropped") == NULL);
    cJSON_Delete(j);
    free(out);

    capture_start(&c);
    log_line_write(line_with_fields(1000, 100)); /* 100 KB of short fields */
    out = capture_end(&c);
    j = one_line(out);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "fieldsDropped")));
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "msg")), "many fields");
    CHECK(cJSON_GetObjectItem(j, "f0") == NULL);
    CHECK(cJSON_GetObjectItem(j, "time") != NULL);
    cJSON_Delete(j);
    free(out);
}

#define WRITERS 4
#define LINES_EACH 60
#define LONG_FIELDS 40 /* 40 fields of 250 bytes: about 10 KB, well past PIPE_BUF */

static void *writer(void *arg)
{
    char text[251], key[16];
    int id = (int)(size_t)arg, i, f;
    cJSON *line;

    memset(text, 'a' + id, 250);
    text[250] = '\0';
    for (i = 0; i < LINES_EACH; i++) {
        line = log_line_new(LOG_LEVEL_INFO, "long");
        cJSON_AddNumberToObject(line, "writer", id);
        cJSON_AddNumberToObject(line, "seq", i);
        for (f = 0; f < LONG_FIELDS; f++) {
            snprintf(key, sizeof(key), "f%d", f);
            log_add_text(line, key, text);
        }
        log_line_write(line);
    }
    return NULL;
}

/* Threads writing lines longer than PIPE_BUF into one pipe: every line arrives whole. */
static void long_lines_from_threads_never_interleave(void)
{
    pthread_t t[WRITERS];
    struct capture c;
    char *out, *p, *nl;
    int i, lines = 0, whole = 0, seen[WRITERS] = {0};

    capture_start(&c);
    for (i = 0; i < WRITERS; i++)
        pthread_create(&t[i], NULL, writer, (void *)(size_t)i);
    for (i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    out = capture_end(&c);
    for (p = out; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        cJSON *j;
        int id;

        *nl = '\0';
        lines++;
        j = cJSON_Parse(p);
        id = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "writer"));
        if (j && cJSON_GetArraySize(j) == 5 + LONG_FIELDS && id >= 0 && id < WRITERS &&
            strlen(cJSON_GetStringValue(cJSON_GetObjectItem(j, "f39"))) == 250 &&
            cJSON_GetStringValue(cJSON_GetObjectItem(j, "f0"))[0] == 'a' + id) {
            whole++;
            seen[id]++;
        }
        cJSON_Delete(j);
    }
    CHECK_INT(*p, '\0'); /* nothing after the last newline */
    CHECK_INT(lines, WRITERS * LINES_EACH);
    CHECK_INT(whole, WRITERS * LINES_EACH);
    for (i = 0; i < WRITERS; i++)
        CHECK_INT(seen[i], LINES_EACH);
    free(out);
}

TEST_MAIN("log",
          TEST(long_messages_are_cut_on_a_character_boundary),
          TEST(lines_below_the_level_are_not_written),
          TEST(request_text_is_bounded_marked_and_well_formed),
          TEST(a_cut_field_keeps_whole_characters),
          TEST(every_string_in_a_line_is_made_well_formed),
          TEST(a_line_is_bounded_whatever_its_fields),
          TEST(long_lines_from_threads_never_interleave))
