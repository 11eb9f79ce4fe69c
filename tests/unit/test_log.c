/* Log lines: one JSON object per line, valid UTF-8 even when a long message is cut. */
#include <unistd.h>

#include "check.h"
#include "log.h"

/* 1 when s[0..n) is well-formed UTF-8 (no truncated or stray sequences). */
static int utf8_valid(const unsigned char *s, size_t n)
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
            CHECK(utf8_valid((const unsigned char *)line, n));
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

TEST_MAIN("log",
          TEST(long_messages_are_cut_on_a_character_boundary),
          TEST(lines_below_the_level_are_not_written))
