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

TEST_MAIN("utf8", TEST(utf8_complete_drops_only_a_split_character))
