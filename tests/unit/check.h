/*
 * A minimal table-friendly test harness: CHECK records a failure with file:line and goes on;
 * TEST_MAIN runs the listed test functions and prints "N passed, N failed" (a test passes when none
 * of its CHECKs failed). Fixtures are read relative to tests/fixtures/ with fixture_json().
 */
#ifndef MG_CHECK_H
#define MG_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static int check_failed_in_test;

#define CHECK(cond)                                                                                        \
    do {                                                                                                   \
        if (!(cond)) {                                                                                     \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);                     \
            check_failed_in_test = 1;                                                                      \
        }                                                                                                  \
    } while (0)

#define CHECK_STR(a, b)                                                                                    \
    do {                                                                                                   \
        const char *check_a_ = (a), *check_b_ = (b);                                                       \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                                   \
            fprintf(stderr, "  %s:%d: %s == \"%s\", want \"%s\"\n", __FILE__, __LINE__, #a,                 \
                    check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");                       \
            check_failed_in_test = 1;                                                                      \
        }                                                                                                  \
    } while (0)

#define CHECK_INT(a, b)                                                                                    \
    do {                                                                                                   \
        long check_a_ = (long)(a), check_b_ = (long)(b);                                                   \
        if (check_a_ != check_b_) {                                                                        \
            fprintf(stderr, "  %s:%d: %s == %ld, want %ld\n", __FILE__, __LINE__, #a, check_a_, check_b_); \
            check_failed_in_test = 1;                                                                      \
        }                                                                                                  \
    } while (0)

struct check_test {
    const char *name;
    void (*fn)(void);
};

#define TEST(fn) {#fn, fn}

/* Read tests/fixtures/<rel> (run from the repository root) whole, NUL-terminated; aborts if missing.
 * The caller frees it. */
static inline char *fixture_text(const char *rel, size_t *len)
{
    char path[512];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "tests/fixtures/%s", rel);
    f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open fixture %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read fixture %s\n", path);
        exit(2);
    }
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Read tests/fixtures/<rel> and parse it as JSON; aborts if missing or not JSON. */
static inline cJSON *fixture_json(const char *rel)
{
    size_t len;
    char *buf = fixture_text(rel, &len);
    cJSON *j = cJSON_ParseWithLength(buf, len);

    free(buf);
    if (!j) {
        fprintf(stderr, "fixture %s is not JSON\n", rel);
        exit(2);
    }
    return j;
}

static inline int check_run(const char *suite, const struct check_test *tests, size_t n)
{
    size_t i, passed = 0, failed = 0;

    for (i = 0; i < n; i++) {
        check_failed_in_test = 0;
        tests[i].fn();
        if (check_failed_in_test) {
            failed++;
            fprintf(stderr, "FAIL %s.%s\n", suite, tests[i].name);
        } else {
            passed++;
            printf("ok   %s.%s\n", suite, tests[i].name);
        }
    }
    printf("%s: %zu passed, %zu failed\n", suite, passed, failed);
    return failed ? 1 : 0;
}

#define TEST_MAIN(suite, ...)                                                                              \
    int main(void)                                                                                         \
    {                                                                                                      \
        static const struct check_test tests_[] = {__VA_ARGS__};                                           \
        return check_run(suite, tests_, sizeof(tests_) / sizeof(tests_[0]));                               \
    }

#endif
