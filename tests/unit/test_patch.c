/* JSON Patch building (RFC 6901 escaping, op shapes) and the strict applier's evanphx/json-patch rules. */
#include "check.h"
#include "patch.h"

static void patch_path_escapes_tilde_and_slash(void)
{
    static const struct { const char *token, *want; } cases[] = {
        {"spec", "/spec"},
        {"a/b", "/a~1b"},
        {"~x", "/~0x"},
        {"~/", "/~0~1"},
        {"manual-gate.io/enabled", "/manual-gate.io~1enabled"},
        {"", "/"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[64] = "";

        CHECK_INT(patch_path_append(buf, sizeof(buf), cases[i].token), 0);
        CHECK_STR(buf, cases[i].want);
    }
}

static void patch_path_joins_tokens(void)
{
    const char *const tokens[] = {"metadata", "labels", "manual-gate.io/enabled"};
    char buf[64];

    CHECK_INT(patch_path(buf, sizeof(buf), tokens, 3), 0);
    CHECK_STR(buf, "/metadata/labels/manual-gate.io~1enabled");
    CHECK_INT(patch_path(buf, sizeof(buf), tokens, 0), 0);
    CHECK_STR(buf, "");
}

static void patch_path_refuses_what_does_not_fit(void)
{
    char buf[8] = "/ab";

    CHECK_INT(patch_path_append(buf, sizeof(buf), "cdefgh"), -1);
    CHECK_STR(buf, "/ab");
    /* "/ab" + "/~0~0" needs 9 bytes: the token is refused whole, never cut inside an escape. */
    strcpy(buf, "/ab");
    CHECK_INT(patch_path_append(buf, sizeof(buf), "~~"), -1);
    CHECK_STR(buf, "/ab");
    buf[0] = '\0';
    CHECK_INT(patch_path_append(buf, sizeof(buf), "~~"), 0);
    CHECK_STR(buf, "/~0~0");
}

static void patch_ops_have_the_rfc6902_shape(void)
{
    cJSON *ops = cJSON_CreateArray();
    cJSON *want = cJSON_Parse("[{\"op\":\"add\",\"path\":\"/a\",\"value\":1},"
                              "{\"op\":\"replace\",\"path\":\"/b\",\"value\":\"x\"},"
                              "{\"op\":\"remove\",\"path\":\"/c\"}]");

    CHECK_INT(patch_add(ops, "/a", cJSON_CreateNumber(1)), 0);
    CHECK_INT(patch_replace(ops, "/b", cJSON_CreateString("x")), 0);
    CHECK_INT(patch_remove(ops, "/c"), 0);
    CHECK(cJSON_Compare(ops, want, 1));
    /* A NULL value (a failed cJSON_Create*) or a non-array is refused, not half-built. */
    CHECK_INT(patch_add(ops, "/d", NULL), -1);
    CHECK_INT(patch_add(NULL, "/d", cJSON_CreateTrue()), -1);
    CHECK_INT(cJSON_GetArraySize(ops), 3);
    cJSON_Delete(ops);
    cJSON_Delete(want);
}

static void patch_apply_follows_json_patch_rules(void)
{
    static const struct {
        const char *name, *doc, *ops, *want; /* want NULL: the patch must not apply */
    } cases[] = {
        {"add creates a member", "{\"a\":{}}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]", "{\"a\":{\"b\":1}}"},
        {"add replaces an existing member", "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":[]}]",
         "{\"a\":[]}"},
        {"add needs the parent", "{}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]", NULL},
        {"add inserts at an index", "{\"l\":[1,3]}", "[{\"op\":\"add\",\"path\":\"/l/1\",\"value\":2}]",
         "{\"l\":[1,2,3]}"},
        {"add at the size appends", "{\"l\":[1]}", "[{\"op\":\"add\",\"path\":\"/l/1\",\"value\":2}]",
         "{\"l\":[1,2]}"},
        {"add - appends", "{\"l\":[1]}", "[{\"op\":\"add\",\"path\":\"/l/-\",\"value\":2}]", "{\"l\":[1,2]}"},
        {"add past the end fails", "{\"l\":[1]}", "[{\"op\":\"add\",\"path\":\"/l/2\",\"value\":2}]", NULL},
        {"leading zero index fails", "{\"l\":[1,2]}", "[{\"op\":\"replace\",\"path\":\"/l/01\",\"value\":2}]",
         NULL},
        {"replace needs the target", "{}", "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":1}]", NULL},
        {"replace an array item", "{\"l\":[1,2]}", "[{\"op\":\"replace\",\"path\":\"/l/1\",\"value\":5}]",
         "{\"l\":[1,5]}"},
        {"remove needs the target", "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]", NULL},
        {"remove an array item", "{\"l\":[1,2,3]}", "[{\"op\":\"remove\",\"path\":\"/l/0\"}]", "{\"l\":[2,3]}"},
        {"remove - fails", "{\"l\":[1]}", "[{\"op\":\"remove\",\"path\":\"/l/-\"}]", NULL},
        {"escaped tokens", "{\"a/b\":{\"~c\":1}}", "[{\"op\":\"replace\",\"path\":\"/a~1b/~0c\",\"value\":2}]",
         "{\"a/b\":{\"~c\":2}}"},
        {"bad escape fails", "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/~2\",\"value\":2}]", NULL},
        {"ops apply in order", "{\"l\":[]}",
         "[{\"op\":\"add\",\"path\":\"/l/0\",\"value\":\"b\"},{\"op\":\"add\",\"path\":\"/l/0\",\"value\":\"a\"}]",
         "{\"l\":[\"a\",\"b\"]}"},
        {"unsupported op fails", "{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/b\"}]", NULL},
        {"path below a scalar fails", "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]", NULL},
        {"root path is refused", "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":{}}]", NULL},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *doc = cJSON_Parse(cases[i].doc), *ops = cJSON_Parse(cases[i].ops);
        cJSON *want = cases[i].want ? cJSON_Parse(cases[i].want) : NULL;
        char err[200] = "";
        int rc = patch_apply(doc, ops, err, sizeof(err));

        int ok = cases[i].want ? rc == 0 && cJSON_Compare(doc, want, 1) : rc == -1 && err[0] != '\0';

        if (!ok)
            fprintf(stderr, "  case \"%s\": rc %d, err \"%s\"\n", cases[i].name, rc, err);
        CHECK(ok);
        cJSON_Delete(doc);
        cJSON_Delete(ops);
        cJSON_Delete(want);
    }
}

TEST_MAIN("patch",
          TEST(patch_path_escapes_tilde_and_slash),
          TEST(patch_path_joins_tokens),
          TEST(patch_path_refuses_what_does_not_fit),
          TEST(patch_ops_have_the_rfc6902_shape),
          TEST(patch_apply_follows_json_patch_rules))
