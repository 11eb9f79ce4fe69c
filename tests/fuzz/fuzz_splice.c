/*
 * libFuzzer target: the splicer on untrusted YAML. Every document that is a mapping gets a key added
 * at its top and, when it has one, in its first nested mapping, and loses its last key; the spliced
 * text (or, where the splice is refused, the document printed anew) must read as the input with
 * exactly those changes, every other document unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "yamlio.h"
#include "yamlsplice.h"
#include "yamltree.h"

static cJSON *changed(const cJSON *doc)
{
    cJSON *want = cJSON_Duplicate(doc, 1), *c, *last = NULL;

    for (c = want->child; c; c = c->next) {
        if (cJSON_IsObject(c) && !cJSON_GetObjectItemCaseSensitive(c, "zz-fuzz-nested")) {
            cJSON_AddStringToObject(c, "zz-fuzz-nested", "true");
            break;
        }
    }
    for (c = want->child; c; c = c->next)
        last = c;
    if (last && last->next == NULL && want->child != last && strcmp(last->string, "zz-fuzz") != 0)
        cJSON_Delete(cJSON_DetachItemViaPointer(want, last));
    if (!cJSON_GetObjectItemCaseSensitive(want, "zz-fuzz"))
        cJSON_AddItemToObject(want, "zz-fuzz", cJSON_Parse("{\"a\":[1,\"0755\",{\"b\":null}],\"c\":{}}"));
    return want;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    struct yamlsplice edits = {NULL, 0, 0};
    struct yamltree t;
    cJSON *docs, *wants, *doc, *again;
    char err[256], why[256], *out;
    size_t d = 0, len;

    if (!(docs = yamlio_parse_stream(in, size, err, sizeof(err))))
        return 0;
    if (yamltree_parse(&t, in, size, err, sizeof(err)) < 0) {
        /* Positions are readable wherever values are, but in UTF-16, which is refused. */
        if (!strstr(err, "UTF-16"))
            __builtin_trap();
        cJSON_Delete(docs);
        return 0;
    }
    if (t.ndocs != (size_t)cJSON_GetArraySize(docs))
        __builtin_trap();
    wants = cJSON_CreateArray();
    cJSON_ArrayForEach(doc, docs) {
        cJSON *want = cJSON_IsObject(doc) && doc->child ? changed(doc) : cJSON_Duplicate(doc, 1);
        int rc = yamlsplice_doc(&t, d, doc, want, &edits, why, sizeof(why));

        if (rc == 1 && yamlsplice_reemit(&t, d, want, &edits) < 0)
            __builtin_trap();
        cJSON_AddItemToArray(wants, want);
        d++;
    }
    if (!(out = yamlsplice_apply(in, size, &edits, &len)))
        __builtin_trap();
    again = yamlio_parse_stream(out, len, err, sizeof(err));
    if (!again || !json_equal(again, wants))
        __builtin_trap(); /* the result does not read as the input with exactly the changes */
    cJSON_Delete(again);
    free(out);
    yamlsplice_free(&edits);
    yamltree_free(&t);
    cJSON_Delete(wants);
    cJSON_Delete(docs);
    return 0;
}
