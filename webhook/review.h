/*
 * The AdmissionReview codec (admission.k8s.io/v1): decode a request body into a struct admission_request
 * for the policies, and encode a struct decision into the response review the API server expects:
 * same apiVersion/kind, uid echoed, allowed, status on denial, base64 JSON Patch, warnings,
 * auditAnnotations (docs/design.md, "The admission contract").
 *
 * Memory: a struct review owns the parsed body (root); every pointer in review.req points into it, so
 * the request is valid until review_free(). review_encode returns a malloc'd string the caller frees.
 */
#ifndef MG_REVIEW_H
#define MG_REVIEW_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "policy.h"

struct review {
    cJSON *root;
    struct admission_request req;
};

/* The operation named by s ("CREATE", "UPDATE", "DELETE", "CONNECT"); ADMISSION_OP_OTHER for anything else. */
enum admission_op admission_op_of(const char *s);
/* Decode body. 0 on success; otherwise the HTTP status to answer (400, 413 for a body with too many
 * values to parse safely, 500 when out of memory) with a one-line reason in err: no review can be formed
 * from this body. */
int review_decode(const char *body, size_t len, struct review *out, char *err, size_t errlen) __attribute__((warn_unused_result));
/* The response review for d, as compact JSON; NULL only when out of memory. */
char *review_encode(const struct review *r, const struct decision *d);
/* Free what review_decode allocated; safe on a zeroed or already freed review. */
void review_free(struct review *r);

#endif
