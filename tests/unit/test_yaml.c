/* YAML <-> cJSON: scalars read as kubectl reads them, anchors and merges, limits and errors, and an
 * emitter whose output reads back to the same JSON (what keeps `mutate` output stable). */
#include "check.h"
#include "yamlio.h"

static cJSON *parse(const char *s, char *err, size_t errlen)
{
    return yamlio_parse(s, strlen(s), err, errlen);
}

/* Parse YAML and JSON text and compare the first document with want (JSON). */
static int parses_to(const char *yaml, const char *want_json)
{
    char err[256] = "";
    cJSON *docs = parse(yaml, err, sizeof(err)), *want = cJSON_Parse(want_json);
    int ok = docs && want && cJSON_GetArraySize(docs) == 1 && cJSON_Compare(cJSON_GetArrayItem(docs, 0), want, 1);

    if (!ok) {
        char *got = docs ? cJSON_PrintUnformatted(docs) : NULL;

        fprintf(stderr, "  %s -> %s (%s), want %s\n", yaml, got ? got : "NULL", err, want_json);
        free(got);
    }
    cJSON_Delete(docs);
    cJSON_Delete(want);
    return ok;
}

static void yaml_reads_plain_scalars_like_kubectl(void)
{
    static const struct { const char *yaml, *json; } cases[] = {
        {"v: 10", "{\"v\":10}"},
        {"v: -5", "{\"v\":-5}"},
        {"v: +5", "{\"v\":5}"},
        {"v: 0", "{\"v\":0}"},
        {"v: 1_000", "{\"v\":1000}"},
        {"v: 0x1F", "{\"v\":31}"},
        {"v: 0o17", "{\"v\":15}"},
        {"v: 017", "{\"v\":15}"},
        {"v: 0b101", "{\"v\":5}"},
        {"v: 08", "{\"v\":8}"},
        {"v: 1.5", "{\"v\":1.5}"},
        {"v: .5", "{\"v\":0.5}"},
        {"v: 1e3", "{\"v\":1000}"},
        {"v: -2.5E-3", "{\"v\":-0.0025}"},
        {"v: true", "{\"v\":true}"},
        {"v: False", "{\"v\":false}"},
        {"v: yes", "{\"v\":true}"},
        {"v: off", "{\"v\":false}"},
        {"v: Y", "{\"v\":true}"},
        {"v: n", "{\"v\":false}"},
        {"v: null", "{\"v\":null}"},
        {"v: ~", "{\"v\":null}"},
        {"v:", "{\"v\":null}"},
        {"v: 10s", "{\"v\":\"10s\"}"},
        {"v: 1:30", "{\"v\":\"1:30\"}"},
        {"v: 2024-01-02", "{\"v\":\"2024-01-02\"}"},
        {"v: 1.2.3", "{\"v\":\"1.2.3\"}"},
        {"v: 0x", "{\"v\":\"0x\"}"},
        {"v: yess", "{\"v\":\"yess\"}"},
        {"v: http://lt.test:8080/gate/check", "{\"v\":\"http://lt.test:8080/gate/check\"}"},
        {"v: 99999999999999999999", "{\"v\":1e20}"},
        {"80: http", "{\"80\":\"http\"}"},
        {"true: x", "{\"true\":\"x\"}"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK(parses_to(cases[i].yaml, cases[i].json));
}

static void yaml_keeps_quoted_and_str_tagged_scalars_strings(void)
{
    static const struct { const char *yaml, *json; } cases[] = {
        {"v: \"10\"", "{\"v\":\"10\"}"},
        {"v: '10'", "{\"v\":\"10\"}"},
        {"v: \"true\"", "{\"v\":\"true\"}"},
        {"v: 'yes'", "{\"v\":\"yes\"}"},
        {"v: \"\"", "{\"v\":\"\"}"},
        {"v: \"null\"", "{\"v\":\"null\"}"},
        {"v: !!str 10", "{\"v\":\"10\"}"},
        {"v: !!str true", "{\"v\":\"true\"}"},
        {"v: ! 10", "{\"v\":\"10\"}"},
        {"v: !!int \"10\"", "{\"v\":10}"},
        {"v: |\n  a\n  b\n", "{\"v\":\"a\\nb\\n\"}"},
        {"v: >-\n  a\n  b\n", "{\"v\":\"a b\"}"},
        {"v: \"\\u00e9\\t\"", "{\"v\":\"\\u00e9\\t\"}"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK(parses_to(cases[i].yaml, cases[i].json));
}

static void yaml_reads_json(void)
{
    CHECK(parses_to("{\"a\": [1, 2.5, \"x\", true, null, {}], \"b\": {\"c\": \"10\"}, \"d\": \"\\/\"}",
                    "{\"a\":[1,2.5,\"x\",true,null,{}],\"b\":{\"c\":\"10\"},\"d\":\"/\"}"));
    /* Pretty JSON indented with tabs is still flow YAML. */
    CHECK(parses_to("{\n\t\"a\": {\n\t\t\"b\": [\n\t\t\t1\n\t\t]\n\t}\n}\n", "{\"a\":{\"b\":[1]}}"));
}

static void yaml_reads_several_documents_and_skips_empty_ones(void)
{
    char err[256];
    cJSON *docs = parse("---\n---\na: 1\n---\n# only a comment\n---\nnull\n---\n- b\n...\n---\nc: {}\n", err,
                        sizeof(err));
    cJSON *want = cJSON_Parse("[{\"a\":1},[\"b\"],{\"c\":{}}]");

    CHECK(docs && cJSON_Compare(docs, want, 1));
    cJSON_Delete(docs);
    cJSON_Delete(want);
    docs = parse("", err, sizeof(err));
    CHECK(docs && cJSON_GetArraySize(docs) == 0);
    cJSON_Delete(docs);
    docs = parse("# nothing\n", err, sizeof(err));
    CHECK(docs && cJSON_GetArraySize(docs) == 0);
    cJSON_Delete(docs);
}

static void yaml_resolves_anchors_aliases_and_merge_keys(void)
{
    CHECK(parses_to("a: &x {p: 1}\nb: *x\nc: [*x, *x]", "{\"a\":{\"p\":1},\"b\":{\"p\":1},\"c\":[{\"p\":1},{\"p\":1}]}"));
    CHECK(parses_to("a: &s hello\nb: *s", "{\"a\":\"hello\",\"b\":\"hello\"}"));
    /* Keys the mapping sets win over merged ones, whatever their order; earlier sources win. */
    CHECK(parses_to("base: &b {x: 1, y: 2}\nmore: &m {y: 3, z: 4}\nout:\n  x: 9\n  <<: [*b, *m]\n",
                    "{\"base\":{\"x\":1,\"y\":2},\"more\":{\"y\":3,\"z\":4},\"out\":{\"x\":9,\"y\":2,\"z\":4}}"));
    CHECK(parses_to("d: &d {t: 1}\no:\n  <<: *d\n  t: 2\n", "{\"d\":{\"t\":1},\"o\":{\"t\":2}}"));
    /* An anchor inside a merge value stays usable after the merge. */
    CHECK(parses_to("o:\n  <<: &m {k: v}\np: *m\n", "{\"o\":{\"k\":\"v\"},\"p\":{\"k\":\"v\"}}"));
    /* A quoted "<<" is an ordinary key. */
    CHECK(parses_to("o: {\"<<\": 1}", "{\"o\":{\"<<\":1}}"));
    /* An alias as a key uses the anchored string. */
    CHECK(parses_to("k: &k name\nm: {*k : 1}", "{\"k\":\"name\",\"m\":{\"name\":1}}"));
    /* Anchors belong to their document. */
    {
        char err[256] = "";
        cJSON *docs = parse("a: &x 1\n---\nb: *x\n", err, sizeof(err));

        CHECK(docs == NULL);
        CHECK(strstr(err, "line 3") != NULL);
        cJSON_Delete(docs);
    }
}

static void yaml_rejects_bad_input_with_a_line_number(void)
{
    static char deep[512], laughs[2048];
    static const struct { const char *yaml, *want; } cases[] = {
        {"a: 1\nb: *nope\n", "line 2: alias *nope names no anchor"},
        {"a: 1\nb: 2\na: 3\n", "line 3: duplicate key \"a\""},
        {"? [a]\n: 1\n", "only scalar mapping keys"},
        {"a: {b: 1}\n? {c: 1}\n: 2\n", "line 2: only scalar mapping keys"},
        {"a: .inf\n", "line 1: \".inf\" is not a number JSON can hold"},
        {"a: 1e999\n", "not a number JSON can hold"},
        {"a: \"x\\0y\"\n", "NUL character"},
        {"a: [1, 2\nb: 3\n", "line "},
        {"a:\n  - b\n c: 1\n", "line 3"},
        {"a: &x [*x]\n", "alias *x names no anchor"},
        {"k: &k [1]\nm: {*k : 1}\n", "used as a key is not a string"},
        {"o:\n  <<: 5\n", "merge key (<<) needs a mapping"},
        {deep, "nested deeper than 100 levels"},
        {laughs, "aliases expand to more than"},
    };
    size_t i, n = 0;
    int level;

    memset(deep, '[', 150);
    deep[150] = '\0';
    n = (size_t)snprintf(laughs, sizeof(laughs), "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (level = 1; level < 10; level++)
        n += (size_t)snprintf(laughs + n, sizeof(laughs) - n, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
                              "*a%d, *a%d, *a%d]\n", level, level, level - 1, level - 1, level - 1, level - 1,
                              level - 1, level - 1, level - 1, level - 1, level - 1, level - 1);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        cJSON *docs = parse(cases[i].yaml, err, sizeof(err));

        if (docs || !strstr(err, cases[i].want) || strncmp(err, "yaml: line ", 11) != 0)
            fprintf(stderr, "  case %zu: err \"%s\", want \"%s\"\n", i, err, cases[i].want);
        CHECK(docs == NULL);
        CHECK(strstr(err, cases[i].want) != NULL);
        CHECK(strncmp(err, "yaml: line ", 11) == 0);
        cJSON_Delete(docs);
    }
}

/* "a: &a <size bytes>\nb: [*a, *a, ...n times]\n", malloc'd. */
static char *aliases_of_a_big_scalar(size_t size, int n, size_t *len)
{
    char *buf = malloc(size + 8 * (size_t)n + 64), *p = buf;
    int i;

    p += sprintf(p, "a: &a ");
    memset(p, 'x', size);
    p += size;
    p += sprintf(p, "\nb: [");
    for (i = 0; i < n; i++)
        p += sprintf(p, "%s*a", i ? ", " : "");
    p += sprintf(p, "]\n");
    *len = (size_t)(p - buf);
    return buf;
}

/* The alias budget counts bytes: 300 aliases of one 1 MiB scalar would build 300 MiB. */
static void yaml_alias_budget_counts_bytes_not_nodes(void)
{
    static const struct { size_t size; int n, ok; } cases[] = {
        {1 << 20, 300, 0}, {1 << 20, 70, 0}, {1 << 20, 40, 1}, {100, 10000, 1},
    };
    size_t i, len;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "", *buf = aliases_of_a_big_scalar(cases[i].size, cases[i].n, &len);
        cJSON *docs = yamlio_parse(buf, len, err, sizeof(err));
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(docs, 0), "b");

        if ((docs != NULL) != cases[i].ok)
            fprintf(stderr, "  %zu bytes x %d aliases: %s\n", cases[i].size, cases[i].n, docs ? "parsed" : err);
        CHECK_INT(docs != NULL, cases[i].ok);
        if (cases[i].ok)
            CHECK_INT(cJSON_GetArraySize(b), cases[i].n);
        else
            CHECK(strstr(err, "line 2: aliases expand to more than 64 MiB") != NULL);
        cJSON_Delete(docs);
        free(buf);
    }
}

/* Duplicate keys, merge keys and anchors are found by hash: a mapping of 100,000 keys, one merging
 * 50,000 keys into 50,000 of its own, and 50,000 anchors with their aliases load whole, and a duplicate
 * among them is still found. How long it takes is measured by `make bench`, not here. */
static void yaml_large_mappings_load_whole_and_duplicates_are_found(void)
{
    enum { KEYS = 100000, HALF = 50000 };
    char *buf = malloc((size_t)KEYS * 64), *p = buf, err[256] = "";
    cJSON *docs;
    int i;

    p += sprintf(p, "labels:\n");
    for (i = 0; i < KEYS; i++)
        p += sprintf(p, "  key-%d: v\n", i);
    p += sprintf(p, "base: &base\n");
    for (i = 0; i < HALF; i++)
        p += sprintf(p, "  m-%d: v\n", i);
    p += sprintf(p, "merged:\n  <<: *base\n");
    for (i = 0; i < HALF; i++)
        p += sprintf(p, "  own-%d: v\n", i);
    p += sprintf(p, "anchors:\n");
    for (i = 0; i < HALF; i++)
        p += sprintf(p, "  a-%d: &a%d v\n", i, i);
    p += sprintf(p, "aliases:\n");
    for (i = 0; i < HALF; i++)
        p += sprintf(p, "  b-%d: *a%d\n", i, HALF - 1 - i);
    docs = yamlio_parse(buf, (size_t)(p - buf), err, sizeof(err));
    CHECK(docs != NULL);
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(docs, 0), "labels")), KEYS);
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(docs, 0), "merged")), 2 * HALF);
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(docs, 0), "aliases")), HALF);
    cJSON_Delete(docs);

    /* The same keys with one repeated at the end of the first mapping. */
    p = buf + sprintf(buf, "labels:\n");
    for (i = 0; i < KEYS; i++)
        p += sprintf(p, "  key-%d: v\n", i);
    p += sprintf(p, "  key-%d: again\n", KEYS / 2);
    docs = yamlio_parse(buf, (size_t)(p - buf), err, sizeof(err));
    CHECK(docs == NULL);
    CHECK(strstr(err, "line 100002: duplicate key \"key-50000\"") != NULL);
    cJSON_Delete(docs);
    free(buf);
}

/* Emit {"k": value} and return the text after "k: " without the newline (static buffer). */
static const char *emitted_value(const char *s)
{
    static char out[256];
    cJSON *docs = cJSON_CreateArray(), *o = cJSON_CreateObject();
    char *text, *nl;

    cJSON_AddStringToObject(o, "k", s);
    cJSON_AddItemToArray(docs, o);
    text = yamlio_emit(docs);
    snprintf(out, sizeof(out), "%s", text && strncmp(text, "k: ", 3) == 0 ? text + 3 : "(bad)");
    if ((nl = strchr(out, '\n')) != NULL)
        *nl = '\0';
    free(text);
    cJSON_Delete(docs);
    return out;
}

static void yaml_emit_quotes_strings_that_would_read_as_another_type(void)
{
    static const struct { const char *s, *want; } cases[] = {
        {"true", "\"true\""}, {"False", "\"False\""}, {"yes", "\"yes\""}, {"on", "\"on\""}, {"n", "\"n\""},
        {"10", "\"10\""}, {"-1", "\"-1\""}, {"0755", "\"0755\""}, {"0x1F", "\"0x1F\""}, {"1_000", "\"1_000\""},
        {"1.0", "\"1.0\""}, {"1e3", "\"1e3\""}, {".5", "\".5\""}, {"", "\"\""}, {"null", "\"null\""},
        {"~", "\"~\""}, {".inf", "\".inf\""}, {"2024-01-02", "\"2024-01-02\""}, {"<<", "\"<<\""},
        /* Strings that read back as strings stay plain. */
        {"10s", "10s"}, {"podinfo", "podinfo"}, {"http://lt.test/gate/check", "http://lt.test/gate/check"},
        {"yess", "yess"}, {"1.2.3", "1.2.3"}, {"v1beta1", "v1beta1"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_STR(emitted_value(cases[i].s), cases[i].want);
}

static int round_trips(const cJSON *docs)
{
    char err[256] = "", *text = yamlio_emit(docs), *again_text = NULL;
    cJSON *again = text ? yamlio_parse(text, strlen(text), err, sizeof(err)) : NULL;
    int ok = again && cJSON_Compare(docs, again, 1);

    if (ok) {
        again_text = yamlio_emit(again);
        ok = again_text && strcmp(text, again_text) == 0;
    }
    if (!ok)
        fprintf(stderr, "  round trip failed (%s):\n%s\n", err, text ? text : "(no text)");
    free(text);
    free(again_text);
    cJSON_Delete(again);
    return ok;
}

static void yaml_round_trips_tricky_values(void)
{
    static const char *const docs[] = {
        "[{\"s\":[\"true\",\"10\",\"\",\"null\",\"yes\",\"0755\",\"1e3\",\"a: b\",\"- x\",\"# c\",\" pad \","
        "\"line\\nbreak\\n\",\"tail\\n\\n\",\"no newline\\nat end\",\"h\\u00e9llo \\u2713\",\"tab\\there\","
        "\"ctl\\u0001\",\"'q'\",\"\\\"dq\\\"\",\"  lead\\nx\",\"@at\",\"`tick\",\"%pct\",\"!bang\",\"&amp\",\"*star\","
        "\"{b}\",\"[s]\",\"x #y\",\"2024-01-02T10:00:00Z\"]}]",
        "[{\"n\":[0,-1,1.5,1e20,1e-7,123456789012,-0.25,3.141592653589793],\"b\":[true,false],\"z\":null,"
        "\"e\":{},\"l\":[],\"nested\":[[1,[2,[3]]],{\"a\":{\"b\":{}}}]}]",
        "[{\"80\":1,\"true\":2,\"\":3,\"a/b\":4,\"k: v\":5,\"" /* a key longer than libyaml's 128 */
        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\":6}]",
        "[\"scalar\",[1,2],{\"a\":1}]",
    };
    size_t i;

    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        cJSON *d = cJSON_Parse(docs[i]);

        CHECK(d != NULL);
        CHECK(round_trips(d));
        cJSON_Delete(d);
    }
}

static void yaml_round_trips_the_manifest_fixture(void)
{
    size_t len;
    char err[256] = "", *buf = fixture_text("mutate/manifests.yaml", &len);
    cJSON *docs = yamlio_parse(buf, len, err, sizeof(err));
    const cJSON *cm;

    CHECK(docs != NULL);
    CHECK_INT(cJSON_GetArraySize(docs), 3); /* Canary, ConfigMap, List; empty documents skipped */
    cm = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(docs, 1), "data");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cm, "bool-like")), "true");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cm, "octal-like")), "0755");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cm, "80")), "port-number-key");
    CHECK(docs && round_trips(docs));
    cJSON_Delete(docs);
    free(buf);
}

static void yaml_emit_separates_documents(void)
{
    cJSON *docs = cJSON_Parse("[{\"a\":1},{\"b\":[\"x\"]}]");
    cJSON *none = cJSON_CreateArray();
    char *text = yamlio_emit(docs), *empty = yamlio_emit(none);

    CHECK_STR(text, "a: 1\n---\nb:\n- x\n");
    CHECK_STR(empty, "");
    CHECK(yamlio_emit(NULL) == NULL);
    free(text);
    free(empty);
    cJSON_Delete(docs);
    cJSON_Delete(none);
}

TEST_MAIN("yaml",
          TEST(yaml_reads_plain_scalars_like_kubectl),
          TEST(yaml_keeps_quoted_and_str_tagged_scalars_strings),
          TEST(yaml_reads_json),
          TEST(yaml_reads_several_documents_and_skips_empty_ones),
          TEST(yaml_resolves_anchors_aliases_and_merge_keys),
          TEST(yaml_rejects_bad_input_with_a_line_number),
          TEST(yaml_alias_budget_counts_bytes_not_nodes),
          TEST(yaml_large_mappings_load_whole_and_duplicates_are_found),
          TEST(yaml_emit_quotes_strings_that_would_read_as_another_type),
          TEST(yaml_round_trips_tricky_values),
          TEST(yaml_round_trips_the_manifest_fixture),
          TEST(yaml_emit_separates_documents))
