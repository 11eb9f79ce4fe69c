/*
 * One manifest file as the cluster would store it: every Canary in it (also inside a List) goes
 * through admission (admit.c); the file comes back with the changes spliced into its own text
 * (yamlsplice.c), or re-printed with its own indentation when it is JSON. What it reports (warnings,
 * denials, documents it had to print anew) goes to msgs, each line naming the file, the document and
 * the line.
 *
 * Memory: a struct rewrite_result owns its text; rewrite_result_free releases it.
 */
#ifndef MG_REWRITE_H
#define MG_REWRITE_H

#include <stddef.h>
#include <stdio.h>

#include "policy.h"

enum rewrite_status {
    REWRITE_OK,      /* text holds the result */
    REWRITE_REFUSED, /* the cluster would refuse a Canary in it (messages say which and why); no text */
    REWRITE_ERROR    /* the input cannot be read as YAML or JSON, or out of memory; no text */
};

struct rewrite_result {
    enum rewrite_status status;
    char *text;  /* the file's new content, NUL-terminated */
    size_t len;
    int changed; /* text differs from the input */
};

/* Rewrite in (len bytes) named name in messages. Fills r; returns r->status. */
enum rewrite_status rewrite_file(const char *name, const char *in, size_t len, const struct policy_config *cfg,
                                 FILE *msgs, struct rewrite_result *r);
/* Release r's text; r is zeroed. */
void rewrite_result_free(struct rewrite_result *r);

#endif
