/*
 * libFuzzer target: untrusted YAML/JSON (the offline command's input, the --canaries files) through
 * the parser and back out through the emitter; what is emitted must parse to the same documents.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "yamlio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256], *text;
    cJSON *docs, *again;

    docs = yamlio_parse((const char *)data, size, err, sizeof(err));
    if (!docs)
        return 0;
    text = yamlio_emit(docs);
    if (!text)
        __builtin_trap();
    again = yamlio_parse(text, strlen(text), err, sizeof(err));
    if (!again || !json_equal(docs, again))
        __builtin_trap(); /* what we print does not read back as what we read */
    free(text);
    cJSON_Delete(again);
    cJSON_Delete(docs);
    return 0;
}
