/* Cutting UTF-8 text at a byte limit without splitting a character. */
#include "check.h"
#include "utf8.h"

static void utf8_complete_drops_only_a_split_character(void)
{
    static const struct { const char *s; size_t n, want; } cases[] = {
        {"abc", 3, 3}, {"abc", 2, 2}, {"", 0, 0},
        {"\xc3\xa9", 1, 0}, {"\xc3\xa9", 2, 2},                       /* é */
        {"\xe2\x82\xac", 1, 0}, {"\xe2\x82\xac", 2, 0}, {"\xe2\x82\xac", 3, 3}, /* € */
        {"\xf0\x9d\x84\x9e", 1, 0}, {"\xf0\x9d\x84\x9e", 3, 0}, {"\xf0\x9d\x84\x9e", 4, 4}, /* 𝄞 */
        {"a\xe2\x82\xac", 2, 1}, {"a\xe2\x82\xac", 3, 1}, {"a\xe2\x82\xac" "b", 4, 4},
        /* Stray continuation bytes are not a character the cut split: left as they are. */
        {"a\x80\x80\x80\x80", 5, 5},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (utf8_complete(cases[i].s, cases[i].n) != cases[i].want)
            fprintf(stderr, "  case %zu\n", i);
        CHECK_INT(utf8_complete(cases[i].s, cases[i].n), cases[i].want);
    }
}

/* Well-formed means Unicode's table: no overlong forms, no surrogates, nothing past U+10FFFF, no stray
 * continuation byte, no sequence cut short. */
static void utf8_valid_follows_the_well_formed_table(void)
{
    static const char *const good[] = {"", "abc", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x9a\x80", "\xed\x9f\xbf",
                                       "\xf4\x8f\xbf\xbf", "\xe0\xa0\x80", "\xf0\x90\x80\x80"};
    static const char *const bad[] = {"\xff", "a\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80",
                                      "\xf0\x80\x80\xaf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xc3",
                                      "\xe2\x82", "\xf0\x9f\x9a", "\xe2\x82" "a"};
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        CHECK_INT(utf8_valid(good[i]), 1);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (utf8_valid(bad[i]))
            fprintf(stderr, "  bad case %zu\n", i);
        CHECK_INT(utf8_valid(bad[i]), 0);
    }
}

static void utf8_sanitize_replaces_bad_bytes_and_cuts_whole_characters(void)
{
    char out[16];
    int cut = -1;

    CHECK_INT(utf8_sanitize(out, sizeof(out), "a\xff" "b", &cut), 5);
    CHECK_STR(out, "a\xef\xbf\xbd" "b");
    CHECK_INT(cut, 0);
    /* a lead byte whose sequence is cut short: each byte replaced, the next character kept */
    utf8_sanitize(out, sizeof(out), "\xe2\x82" "c", &cut);
    CHECK_STR(out, "\xef\xbf\xbd\xef\xbf\xbd" "c");
    /* room for 5 bytes: "abc" and then no split euro sign */
    CHECK_INT(utf8_sanitize(out, 6, "abc\xe2\x82\xac", &cut), 3);
    CHECK_STR(out, "abc");
    CHECK_INT(cut, 1);
    CHECK_INT(utf8_sanitize(out, 7, "abc\xe2\x82\xac", &cut), 6);
    CHECK_INT(cut, 0);
    CHECK_INT(utf8_sanitize(out, 1, "abc", &cut), 0);
    CHECK_STR(out, "");
    CHECK_INT(cut, 1);
    CHECK_INT(utf8_valid(out), 1);
}

TEST_MAIN("utf8", TEST(utf8_complete_drops_only_a_split_character), TEST(utf8_valid_follows_the_well_formed_table),
          TEST(utf8_sanitize_replaces_bad_bytes_and_cuts_whole_characters))
