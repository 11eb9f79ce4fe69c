/*
 * cJSON -> YAML with libyaml's emitter, for documents manual-gate prints whole (a Canary document the
 * splicer cannot change in place). Every string that would read back as another type (or as a date)
 * is quoted, so what it prints parses back to the same JSON: output stays stable when read again.
 */
#include "yamlio.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"
#include "json.h"
#include "yamlscalar.h"

/* Output of the emitter. The input is at most what the callers read (64 MiB); its YAML is a little
 * larger at most (quotes, indentation), so 4x is a bound that only stops a runaway. */
#define EMIT_MAX ((size_t)256 << 20)

static int write_out(void *ctx, unsigned char *bytes, size_t size)
{
    return buf_append(ctx, bytes, size) == 0;
}

static int emit_scalar(yaml_emitter_t *em, const char *text, int is_string)
{
    yaml_event_t ev;
    yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;

    if (is_string) {
        if (yamlscalar_needs_quotes(text))
            style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        else if (strchr(text, '\n'))
            style = YAML_LITERAL_SCALAR_STYLE; /* libyaml falls back to quoting when a block cannot hold it */
        else
            style = YAML_ANY_SCALAR_STYLE;
    }
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), 1, 1, style))
        return -1;
    return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int emit_node(yaml_emitter_t *em, const cJSON *n)
{
    yaml_event_t ev;
    const cJSON *c;
    char num[JSON_NUMBER_MAX];

    if (cJSON_IsObject(n) || cJSON_IsArray(n)) {
        int obj = cJSON_IsObject(n);

        if (!(obj ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE)
                  : yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE)) ||
            !yaml_emitter_emit(em, &ev))
            return -1;
        for (c = n->child; c; c = c->next) {
            if (obj && emit_scalar(em, c->string ? c->string : "", 1) < 0)
                return -1;
            if (emit_node(em, c) < 0)
                return -1;
        }
        if (!(obj ? yaml_mapping_end_event_initialize(&ev) : yaml_sequence_end_event_initialize(&ev)))
            return -1;
        return yaml_emitter_emit(em, &ev) ? 0 : -1;
    }
    if (cJSON_IsString(n))
        return emit_scalar(em, n->valuestring, 1);
    if (cJSON_IsBool(n))
        return emit_scalar(em, cJSON_IsTrue(n) ? "true" : "false", 0);
    if (cJSON_IsNumber(n))
        return json_number(n->valuedouble, num, sizeof(num)) ? emit_scalar(em, num, 0) : -1;
    return emit_scalar(em, "null", 0);
}

char *yamlio_emit(const cJSON *docs)
{
    yaml_emitter_t em;
    yaml_event_t ev;
    struct buf b = BUF_INIT(EMIT_MAX);
    const cJSON *d;
    int first = 1;

    if (!cJSON_IsArray(docs) || !yaml_emitter_initialize(&em))
        return NULL;
    yaml_emitter_set_output(&em, write_out, &b);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_indent(&em, 2);
    /* No folding of long strings: a cmd or URL stays on one line, as written. */
    yaml_emitter_set_width(&em, -1);
    if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || !yaml_emitter_emit(&em, &ev))
        goto fail;
    cJSON_ArrayForEach(d, docs) {
        if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, first) || !yaml_emitter_emit(&em, &ev))
            goto fail;
        if (emit_node(&em, d) < 0)
            goto fail;
        if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&em, &ev))
            goto fail;
        first = 0;
    }
    if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&em, &ev) || !yaml_emitter_flush(&em))
        goto fail;
    yaml_emitter_delete(&em);
    return buf_detach(&b);
fail:
    yaml_emitter_delete(&em);
    buf_free(&b);
    return NULL;
}
