/*
 * json_parse, the parser of request bodies: on strict JSON it builds exactly the tree cJSON builds (every
 * fixture and a table of edge cases), it refuses what is not strict JSON, and it notices what the
 * policies must know (a number a double cannot hold, a NUL in a string, too deep, too many values).
 */
#include <glob.h>

#include "arena.h"
#include "check.h"
#include "json_same.h"
#include "jsonparse.h"

/* Parsed by both, the same tree; 0 when either refuses. */
static int same_as_cjson(const char *text, size_t len)
{
    struct json_parse_status st;
    cJSON *mine = json_parse(text, len, 0, &st), *theirs = cJSON_ParseWithLength(text, len);
    int same = mine && theirs && json_same_tree(mine, theirs);

    if (!same)
        fprintf(stderr, "  differs from cJSON (error %d at %zu): %.80s\n", st.error, st.offset, text);
    cJSON_Delete(mine);
    cJSON_Delete(theirs);
    return same;
}

static void every_json_fixture_parses_to_the_tree_cjson_builds(void)
{
    static const char *const patterns[] = {"tests/fixtures/*/*.json", "tests/fixtures/*/*/*.json",
                                           "tests/fixtures/*/*/*/*.json"};
    glob_t g;
    size_t i, j, files = 0, len;
    char *text;

    for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        if (glob(patterns[i], 0, NULL, &g) != 0)
            continue;
        for (j = 0; j < g.gl_pathc; j++, files++) {
            text = fixture_text(g.gl_pathv[j] + strlen("tests/fixtures/"), &len);
            if (!same_as_cjson(text, len))
                fprintf(stderr, "  in %s\n", g.gl_pathv[j]);
            CHECK(same_as_cjson(text, len));
            free(text);
        }
        globfree(&g);
    }
    CHECK(files >= 100); /* the fixtures were found */
}

static void edge_cases_parse_to_the_tree_cjson_builds(void)
{
    static const char *const docs[] = {
        "{}", "[]", "null", "true", "false", "0", "-0", "\"\"", " \t\r\n{ \"a\" : [ ] , \"b\" : { } }\n",
"[1,-1,0.5,-0.0,1e3,1E-3,2.5e+10,123456789012345,1234567890123456,"
        "9007199254740993,-9223372036854775808,18446744073709551616,1e400,-1e400,4.9e-324,2147483647,"
        "2147483648,-2147483648,-2147483649,0.1,1.7976931348623157e308]",
        "{\"a\":1,\"a\":2}", "{\"\":\"\"}", "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "[\"\\u00e9\\u20AC\\uD83D\\uDE00\"]",
        "[\"caf\xC3\xA9 \xF0\x9F\x98\x80\"]", "[\"a\\u0000b\"]", "{\"k\\u0041y\":\"v\"}", "[[[[[]]]],[{}],{\"x\":[null]}]",
        "[\"\x01 raw control bytes \x1F\"]",
    };
    size_t i;

    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
        CHECK(same_as_cjson(docs[i], strlen(docs[i])));
}

static enum json_parse_error error_of(const char *text, size_t len, size_t max_values, size_t *offset)
{
    struct json_parse_status st;
    cJSON *j = json_parse(text, len, max_values, &st);

    CHECK(j == NULL || st.error == JSON_PARSE_OK);
    cJSON_Delete(j);
    if (offset)
        *offset = st.offset;
    return st.error;
}

static void what_is_not_strict_json_is_refused(void)
{
    static const char *const bad[] = {
        "", " ", "01", "1.", ".5", "+1", "1e", "1e+", "-", "--1", "[1,]", "{\"a\":1,}", "[1 2]", "{\"a\" 1}",
        "{a:1}", "{'a':1}", "[\"open", "[\"bad \\x escape\"]", "[\"\\u12\"]", "[\"\\uD800\"]",
        "[\"\\uDC00\"]", "[\"\\uD800\\u0041\"]", "tru", "nul", "NaN", "Infinity", "{} x", "[]]", "\x0b{}",
        "[\"trailing backslash\\", "\xEF\xBB\xBF{}", "\xEF\xBB\xBF" "1", "{\"a\":1}{\"b\":2}",
        "[1234567890123456789012345678901234567890123456789012345678901234]",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (error_of(bad[i], strlen(bad[i]), 0, NULL) != JSON_PARSE_INVALID)
            fprintf(stderr, "  accepted: %s\n", bad[i]);
        CHECK_INT(error_of(bad[i], strlen(bad[i]), 0, NULL), JSON_PARSE_INVALID);
    }
}

static void the_error_says_where_parsing_stopped(void)
{
    size_t offset;

    CHECK_INT(error_of("{\"a\":[1,2,x]}", 13, 0, &offset), JSON_PARSE_INVALID);
    CHECK_INT(offset, 10);
    CHECK_INT(error_of("{\"a\":\"\\q\"}", 10, 0, &offset), JSON_PARSE_INVALID);
    CHECK_INT(offset, 6);
}

static int lossy(const char *text, size_t len)
{
    struct json_parse_status st;
    cJSON *j = json_parse(text, len, 0, &st);

    CHECK(j != NULL);
    cJSON_Delete(j);
    return st.lossy;
}

/* Which numbers mean here what they mean to the API server and Flagger: every double below 2^53 in
 * magnitude; not an integer of 2^53 or more (an int64 in Go), nor one past a double's range. And a NUL
 * in a string, where a C string ends. */
static void numbers_a_double_cannot_hold_and_nul_in_strings_are_lossy(void)
{
    static const struct { const char *text; int lossy; } cases[] = {
        {"0", 0}, {"-0", 0}, {"1", 0}, {"-1", 0}, {"9007199254740991", 0}, {"-9007199254740991", 0},
        {"9007199254740992", 1}, {"9007199254740993", 1}, {"-9007199254740992", 1}, {"18446744073709551616", 1},
        {"9.007199254740991e15", 0}, {"1e16", 1}, {"1e400", 1}, {"-1e400", 1}, {"0.1", 0}, {"1.5", 0},
        {"1e15", 0}, {"1e300", 1},
        /* Go decodes these to the same float64 as here, and prints it in its shortest form. */
        {"0.10000000000000001", 0}, {"0.30000000000000004", 0}, {"1e-320", 0},
        {"{\"a\":[1,{\"b\":9007199254740993}]}", 1}, {"{\"a\":[1,{\"b\":2.5}],\"c\":\"9007199254740993\"}", 0},
        {"{\"s\":\"\\u0000\"}", 1}, {"{\"s\\u0000\":1}", 1}, {"{\"s\":\"\\\\u0000\"}", 0}, {"{\"s\":\"ok\"}", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (lossy(cases[i].text, strlen(cases[i].text)) != cases[i].lossy)
            fprintf(stderr, "  case %s\n", cases[i].text);
        CHECK_INT(lossy(cases[i].text, strlen(cases[i].text)), cases[i].lossy);
    }
    CHECK_INT(lossy("[\"a\0b\"]", 7), 1); /* a raw NUL in a string */
    CHECK_INT(error_of("[1,\0]", 5, 0, NULL), JSON_PARSE_INVALID);
}

/* n arrays inside each other. */
static char *nested(int n)
{
    char *s = malloc((size_t)n * 2 + 1);
    int i;

    for (i = 0; i < n; i++) {
        s[i] = '[';
        s[n + i] = ']';
    }
    s[2 * n] = '\0';
    return s;
}

static void nesting_and_value_count_are_bounded(void)
{
    char *ok = nested(CJSON_NESTING_LIMIT), *deep = nested(CJSON_NESTING_LIMIT + 1);

    CHECK(same_as_cjson(ok, strlen(ok)));
    CHECK_INT(error_of(deep, strlen(deep), 0, NULL), JSON_PARSE_TOO_DEEP);
    CHECK(cJSON_ParseWithLength(deep, strlen(deep)) == NULL); /* where cJSON stops too */
    CHECK_INT(error_of("[1,[2],{\"a\":3}]", 15, 6, NULL), JSON_PARSE_OK);
    CHECK_INT(error_of("[1,[2],{\"a\":3}]", 15, 5, NULL), JSON_PARSE_TOO_MANY);
    free(ok);
    free(deep);
}

static void inside_a_request_the_tree_lives_in_the_arena(void)
{
    struct json_parse_status st;
    cJSON *j, *extra;

    arena_install();
    arena_begin();
    j = json_parse("{\"a\":[1,2],\"b\":\"text\"}", 22, 0, &st);
    CHECK(j && arena_owns(j) && arena_owns(j->child->string) && arena_owns(j->child->next->valuestring));
    /* cJSON appends through the list's tail, which the parser set */
    extra = cJSON_CreateNumber(3);
    CHECK(extra && cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(j, "a"), extra));
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "a")), 3);
    CHECK(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "a"), 2) == extra);
    cJSON_Delete(j);
    arena_end();
}

TEST_MAIN("jsonparse", TEST(every_json_fixture_parses_to_the_tree_cjson_builds),
          TEST(edge_cases_parse_to_the_tree_cjson_builds), TEST(what_is_not_strict_json_is_refused),
          TEST(the_error_says_where_parsing_stopped),
          TEST(numbers_a_double_cannot_hold_and_nul_in_strings_are_lossy),
          TEST(nesting_and_value_count_are_bounded), TEST(inside_a_request_the_tree_lives_in_the_arena))
