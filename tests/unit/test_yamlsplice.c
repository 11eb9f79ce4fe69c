/* The splicer, on fixture cases picked up by glob: tests/fixtures/splice/NAME.json names a document of
 * NAME.yaml and a JSON Patch for it. The patched document is spliced into the text, which must then
 * equal NAME.want.yaml byte for byte (each want file was read line by line when it was made: only the
 * changed nodes differ from the input), and read as the input with that one document patched. A case
 * with "refused" must be refused with that reason, and NAME.want.yaml is then the input with only that
 * document printed anew. Besides: positions of nodes in UTF-8, CRLF and BOM input, the style read from
 * a document, and the scalar quoting rules new text relies on. */
#include <glob.h>

#include "buf.h"
#include "check.h"
#include "json.h"
#include "patch.h"
#include "yamlio.h"
#include "yamlrender.h"
#include "yamlscalar.h"
#include "yamlsplice.h"
#include "yamltree.h"

/* 1 when text reads as docs with document doc replaced by want. */
static int reads_as(const char *text, size_t len, const cJSON *docs, int doc, const cJSON *want)
{
    char err[256] = "";
    cJSON *got = yamlio_parse_stream(text, len, err, sizeof(err));
    int i, ok = got && cJSON_GetArraySize(got) == cJSON_GetArraySize(docs);

    for (i = 0; ok && i < cJSON_GetArraySize(docs); i++)
        ok = json_equal(cJSON_GetArrayItem(got, i), i == doc ? want : cJSON_GetArrayItem(docs, i));
    if (!ok)
        fprintf(stderr, "  the result does not read as the patched input (%s)\n", err);
    cJSON_Delete(got);
    return ok;
}

static void run_case(const char *json_path)
{
    char base[200], rel[256], err[256] = "", why[256] = "";
    size_t len, want_len, out_len = 0;
    cJSON *spec, *docs = NULL, *want = NULL;
    const cJSON *refused, *doc;
    struct yamltree t;
    struct yamlsplice edits = {NULL, 0, 0};
    char *in, *want_text, *out = NULL;
    int rc, failed_before = check_failed_in_test;

    snprintf(base, sizeof(base), "%.*s", (int)(strlen(json_path) - strlen(".json") - strlen("tests/fixtures/")),
             json_path + strlen("tests/fixtures/"));
    snprintf(rel, sizeof(rel), "%s.json", base);
    spec = fixture_json(rel);
    check_failed_in_test = 0;
    snprintf(rel, sizeof(rel), "%s.yaml", base);
    in = fixture_text(rel, &len);
    snprintf(rel, sizeof(rel), "%s.want.yaml", base);
    want_text = fixture_text(rel, &want_len);
    doc = cJSON_GetObjectItemCaseSensitive(spec, "doc");
    refused = cJSON_GetObjectItemCaseSensitive(spec, "refused");
    CHECK(cJSON_IsNumber(doc));
    CHECK((docs = yamlio_parse_stream(in, len, err, sizeof(err))) != NULL);
    CHECK(yamltree_parse(&t, in, len, err, sizeof(err)) == 0);
    if (!docs || !cJSON_IsNumber(doc) || t.ndocs != (size_t)cJSON_GetArraySize(docs)) {
        fprintf(stderr, "  %s: cannot read the case (%s)\n", base, err);
        check_failed_in_test = 1;
        goto done;
    }
    want = cJSON_Duplicate(cJSON_GetArrayItem(docs, doc->valueint), 1);
    CHECK(patch_apply(want, cJSON_GetObjectItemCaseSensitive(spec, "patch"), err, sizeof(err)) == 0);
    rc = yamlsplice_doc(&t, (size_t)doc->valueint, cJSON_GetArrayItem(docs, doc->valueint), want, &edits, why, sizeof(why));
    CHECK_INT(rc, refused ? 1 : 0);
    if (refused) {
        CHECK(strstr(why, refused->valuestring) != NULL);
        CHECK_INT(edits.n, 0);
        CHECK(yamlsplice_reemit(&t, (size_t)doc->valueint, want, &edits) == 0);
    }
    out = yamlsplice_apply(in, len, &edits, &out_len);
    CHECK(out && out_len == want_len && memcmp(out, want_text, want_len) == 0);
    CHECK(out && reads_as(out, out_len, docs, doc->valueint, want));
    if (check_failed_in_test)
        fprintf(stderr, "  in case %s (why: %s)\n--- got:\n%s\n---\n", base, why, out ? out : "(null)");
done:
    free(out);
    yamlsplice_free(&edits);
    yamltree_free(&t);
    cJSON_Delete(want);
    cJSON_Delete(docs);
    cJSON_Delete(spec);
    free(in);
    free(want_text);
    check_failed_in_test |= failed_before;
}

static void splice_cases_give_their_wanted_text(void)
{
    glob_t g;
    size_t i;

    CHECK(glob("tests/fixtures/splice/*.json", 0, NULL, &g) == 0);
    CHECK(g.gl_pathc >= 20);
    for (i = 0; i < g.gl_pathc; i++)
        run_case(g.gl_pathv[i]);
    globfree(&g);
}

static void tree_offsets_are_bytes_in_utf8_crlf_and_bom_input(void)
{
    static const char text[] = "\xef\xbb\xbf" "a: h\xc3\xa9\xe2\x9c\x93\r\nb:\r\n  - \xf0\x9f\x9a\x80\r\n  - z\r\n";
    struct yamltree t;
    size_t b, item;
    char err[128];

    CHECK(yamltree_parse(&t, text, sizeof(text) - 1, err, sizeof(err)) == 0);
    CHECK(t.crlf);
    CHECK_INT(t.ndocs, 1);
    b = yamltree_get(&t, t.docs[0].root, "b");
    CHECK(b != YAMLTREE_NONE && t.nodes[b].kind == YAMLTREE_SEQUENCE && t.nodes[b].line == 3);
    item = yamltree_item(&t, b, 1);
    CHECK(item != YAMLTREE_NONE && t.nodes[item].end - t.nodes[item].start == 1 && text[t.nodes[item].start] == 'z');
    item = yamltree_get(&t, t.docs[0].root, "a");
    CHECK(item != YAMLTREE_NONE && memcmp(text + t.nodes[item].start, "h\xc3\xa9\xe2\x9c\x93", 6) == 0 &&
          t.nodes[item].end - t.nodes[item].start == 6);
    CHECK(yamltree_next_line(&t, t.nodes[item].end) == (size_t)(strchr(text, '\n') - text) + 1);
    yamltree_free(&t);
}

static void tree_marks_what_cannot_be_changed_in_place(void)
{
    static const char text[] = "a: &x {k: v}\nb: *x\nc:\n  <<: *x\n  d: !!str 1\n";
    struct yamltree t;
    char err[128];
    size_t a, c;

    CHECK(yamltree_parse(&t, text, sizeof(text) - 1, err, sizeof(err)) == 0);
    a = yamltree_get(&t, t.docs[0].root, "a");
    c = yamltree_get(&t, t.docs[0].root, "c");
    CHECK(a != YAMLTREE_NONE && (t.nodes[a].props & YAMLTREE_ANCHOR) && (t.nodes[a].props & YAMLTREE_FLOW));
    CHECK(t.nodes[yamltree_get(&t, t.docs[0].root, "b")].kind == YAMLTREE_ALIAS);
    CHECK(c != YAMLTREE_NONE && (t.nodes[c].props & YAMLTREE_MERGE));
    CHECK(t.nodes[yamltree_get(&t, c, "d")].props & YAMLTREE_TAG);
    CHECK(t.nodes[t.docs[0].root].props & YAMLTREE_ANCHOR_BELOW);
    yamltree_free(&t);
}

static void style_is_read_from_the_document(void)
{
    static const struct {
        const char *text;
        size_t step, seq, item;
        char quote;
        int quote_all;
    } cases[] = {
        {"a:\n    b: 1\n    c:\n    - x\n", 4, 0, 2, '"', 0},
        {"a:\n  b:\n    - k: v\n", 2, 2, 2, '"', 0},
        {"a:\n  b:\n  -   k: 'v'\n  c: 'w'\n", 2, 0, 4, '\'', 1},
        {"a: b\n", 2, 2, 2, '"', 0},
    };
    struct yamlrender_style st;
    struct yamltree t;
    char err[128];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(yamltree_parse(&t, cases[i].text, strlen(cases[i].text), err, sizeof(err)) == 0);
        yamlrender_style_read(&t, 0, &st);
        CHECK_INT(st.map_step, cases[i].step);
        CHECK_INT(st.seq_offset, cases[i].seq);
        CHECK_INT(st.item_offset, cases[i].item);
        CHECK_INT(st.quote, cases[i].quote);
        CHECK_INT(st.quote_all, cases[i].quote_all);
        yamltree_free(&t);
    }
}

/* Each string written as new text (plain when safe, else quoted) reads back as that same string. */
static void new_scalars_read_back_as_written(void)
{
    static const char *const strings[] = {"plain words", "true", "yes", "y", "0755", "1e3", "0x1F", "~", "null", "",
                                          "2024-01-02", "<<", "a: b", "- item", "# x", "x #y", " pad ", "trail:",
                                          "it's", "say \"hi\"", "tab\there", "line\nbreak", "nel\xc2\x85here",
                                          "ls\xe2\x80\xa8here", "h\xc3\xa9llo", "*alias", "&anchor", "!tag", "%dir",
                                          "@at", "`tick", "{flow}", "[seq]", "?q", ":colon", "back\\slash"};
    static const char quotes[] = {'"', '\''};
    struct yamlrender_style st = {2, 2, 2, '"', 0, 0, "\n"};
    size_t i, q;

    for (q = 0; q < sizeof(quotes); q++)
        for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
            struct buf b = BUF_INIT(4096);
            cJSON *v = cJSON_CreateString(strings[i]), *docs;
            char err[256] = "";

            st.quote = quotes[q];
            CHECK(buf_append(&b, "k: ", 3) == 0 && yamlrender_inline(&b, v, 0, &st) == 0);
            docs = yamlio_parse(b.data, b.len, err, sizeof(err));
            if (!docs || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(docs->child, "k")) ||
                strcmp(cJSON_GetObjectItemCaseSensitive(docs->child, "k")->valuestring, strings[i]) != 0) {
                fprintf(stderr, "  \"%s\" written as [%s] does not read back (%s)\n", strings[i], b.data, err);
                check_failed_in_test = 1;
            }
            CHECK(!yamlscalar_plain_safe(strings[i]) || strcmp(b.data + 3, strings[i]) == 0);
            cJSON_Delete(docs);
            cJSON_Delete(v);
            buf_free(&b);
        }
}

TEST_MAIN("yamlsplice", TEST(splice_cases_give_their_wanted_text), TEST(tree_offsets_are_bytes_in_utf8_crlf_and_bom_input),
          TEST(tree_marks_what_cannot_be_changed_in_place), TEST(style_is_read_from_the_document),
          TEST(new_scalars_read_back_as_written))
