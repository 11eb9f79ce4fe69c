/* json_equal: the comparison behind every "did this change?" of the policies. */
#include "check.h"
#include "json.h"

static int eq(const char *a, const char *b)
{
    cJSON *x = cJSON_Parse(a), *y = cJSON_Parse(b);
    int r;

    if (!x || !y) {
        fprintf(stderr, "  bad test JSON\n");
        check_failed_in_test = 1;
    }
    r = json_equal(x, y);
    CHECK_INT(json_equal(y, x), r); /* symmetric */
    cJSON_Delete(x);
    cJSON_Delete(y);
    return r;
}

static void equal_values_compare_equal_whatever_the_key_order(void)
{
    static const char *const same[][2] = {
        {"{}", "{}"},
        {"[]", "[]"},
        {"null", "null"},
        {"{\"a\":1,\"b\":[1,2,{\"c\":\"x\"}]}", "{\"a\":1,\"b\":[1,2,{\"c\":\"x\"}]}"},
        {"{\"a\":1,\"b\":2,\"c\":3}", "{\"c\":3,\"a\":1,\"b\":2}"},
        {"{\"a\":{\"y\":true,\"x\":false}}", "{\"a\":{\"x\":false,\"y\":true}}"},
        {"{\"n\":1.0}", "{\"n\":1}"},
        {"{\"n\":1e2}", "{\"n\":100}"},
    };
    size_t i;

    for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        CHECK(eq(same[i][0], same[i][1]));
}

static void different_values_compare_different(void)
{
    static const char *const differ[][2] = {
        {"{\"a\":1}", "{\"a\":2}"},
        {"{\"a\":1}", "{\"b\":1}"},
        {"{\"a\":1}", "{\"a\":1,\"b\":1}"},
        {"[1,2]", "[2,1]"},           /* arrays keep their order */
        {"[1,2]", "[1,2,3]"},
        {"{\"a\":\"1\"}", "{\"a\":1}"},
        {"{\"a\":null}", "{}"},
        {"{\"a\":true}", "{\"a\":false}"},
        {"{\"a\":\"x\"}", "{\"a\":\"x \"}"},
        /* cJSON_Compare calls these equal (relative epsilon); Flagger's hash does not. */
        {"{\"runAsUser\":9007199254740992}", "{\"runAsUser\":9007199254740994}"},
        {"{\"b\":2,\"a\":1}", "{\"a\":1,\"c\":2}"},
        /* the same key twice: never sent by the API server, never called equal */
        {"{\"a\":1,\"a\":1}", "{\"a\":1,\"b\":1}"},
    };
    size_t i;

    for (i = 0; i < sizeof(differ) / sizeof(differ[0]); i++)
        CHECK(!eq(differ[i][0], differ[i][1]));
}

static void null_pointers_are_equal_only_to_each_other(void)
{
    cJSON *o = cJSON_CreateObject();

    CHECK(json_equal(NULL, NULL));
    CHECK(!json_equal(o, NULL));
    CHECK(!json_equal(NULL, o));
    cJSON_Delete(o);
}

static void large_objects_in_either_order_compare_right(void)
{
    cJSON *a = cJSON_CreateObject(), *b = cJSON_CreateObject();
    char key[32];
    int i;

    for (i = 0; i < 60000; i++) {
        snprintf(key, sizeof(key), "label-%d", i);
        cJSON_AddStringToObject(a, key, "v");
    }
    for (i = 60000 - 1; i >= 0; i--) {
        snprintf(key, sizeof(key), "label-%d", i);
        cJSON_AddStringToObject(b, key, "v");
    }
    CHECK(json_equal(a, b));
    cJSON_ReplaceItemInObject(b, "label-30000", cJSON_CreateString("w"));
    CHECK(!json_equal(a, b));
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* A JSON file printed again in its own layout is byte for byte what it was. */
static void json_prints_in_the_layout_it_reads(void)
{
    static const char *const texts[] = {
        "{\n  \"a\": 1,\n  \"b\": [\n    true,\n    {\n      \"c\": \"x\\\"y\"\n    }\n  ],\n  \"e\": {},\n  \"f\": []\n}\n",
        "{\n    \"kind\": \"Canary\",\n    \"n\": null\n}",
        "{\n\t\"a\": [\n\t\t1.5\n\t]\n}\n",
        "{\r\n  \"a\": \"h\u00e9\"\r\n}\r\n",
        "{\"a\":[1,2],\"b\":{\"c\":false}}\n",
    };
    static const char *const indents[] = {"  ", "    ", "\t", "  ", ""};
    char indent[16], *out;
    cJSON *v;
    size_t i, len;
    int crlf;

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        len = strlen(texts[i]);
        json_layout(texts[i], len, indent, sizeof(indent), &crlf);
        CHECK_STR(indent, indents[i]);
        CHECK_INT(crlf, i == 3);
        v = cJSON_Parse(texts[i]);
        out = json_print(v, indent, crlf, texts[i][len - 1] == '\n');
        if (i != 3)
            CHECK_STR(out, texts[i]);
        else
            CHECK(out && strstr(out, "\r\n  \"a\": ") != NULL); /* cJSON writes the UTF-8 itself */
        free(out);
        cJSON_Delete(v);
    }
}

/* Numbers are written with the fewest digits that read back as exactly the same double (cJSON's own
 * printing rounds large ones to 15 digits). */
static void numbers_are_written_to_read_back_exactly(void)
{
    static const double values[] = {0, 20160, -5, 0.1, 1.5, 777777777777777877777777.0, 1e300, 123456789012345678.0,
                                    0.30000000000000004};
    static const char *const texts[] = {"0", "20160", "-5", "0.1", "1.5", NULL, "1e+300", NULL,
                                        "0.30000000000000004"};
    char buf[JSON_NUMBER_MAX];
    size_t i;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        CHECK(json_number(values[i], buf, sizeof(buf)) != NULL);
        CHECK(strtod(buf, NULL) == values[i]);
        if (texts[i])
            CHECK_STR(buf, texts[i]);
    }
    CHECK(json_number(1.0 / 0.0, buf, sizeof(buf)) == NULL);
}

TEST_MAIN("json",
          TEST(numbers_are_written_to_read_back_exactly),
          TEST(json_prints_in_the_layout_it_reads),
          TEST(equal_values_compare_equal_whatever_the_key_order),
          TEST(different_values_compare_different),
          TEST(null_pointers_are_equal_only_to_each_other),
          TEST(large_objects_in_either_order_compare_right))
