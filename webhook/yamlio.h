/*
 * YAML <-> cJSON with libyaml: the offline `mutate` command and the --canaries file source read
 * YAML or JSON (JSON is YAML), and `mutate` prints YAML.
 *
 * Memory: yamlio_parse returns a cJSON array the caller frees with cJSON_Delete; yamlio_emit returns a
 * malloc'd string the caller frees.
 */
#ifndef MG_YAMLIO_H
#define MG_YAMLIO_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* Parse every document of buf (one or several, "---" separated) into a cJSON array of documents;
 * empty documents are skipped. NULL with a one-line reason in err (with line number) on error. */
cJSON *yamlio_parse(const char *buf, size_t len, char *err, size_t errlen);
/* The same, keeping every document of the stream in order: an empty one is a JSON null, so the
 * array's index is the document's index in the stream. Errors name the document too:
 * "yaml: document 2, line 14: ...". */
cJSON *yamlio_parse_stream(const char *buf, size_t len, char *err, size_t errlen);
/* Print the documents of an array as a YAML stream ("---" between documents). NULL on error. */
char *yamlio_emit(const cJSON *docs);

#endif
