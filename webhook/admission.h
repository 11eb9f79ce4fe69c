/*
 * The one admission pipeline, without a transport: route a decoded request to its policy (a table of
 * kind and operation), and, from a request body, decode -> decide -> encode with the outcome classified.
 * The server, the fuzzer, the benchmarks and the offline commands call it; the server only moves bytes,
 * logs and counts.
 *
 * Memory: admission_handle fills a struct admission_result that owns its body and log fields; release it
 * with admission_result_free. admission_decide fills a decision the caller owns (decision.h).
 */
#ifndef MG_ADMISSION_H
#define MG_ADMISSION_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "decision.h"
#include "policy.h"

enum admission_endpoint { ADMISSION_MUTATE, ADMISSION_VALIDATE, ADMISSION_ENDPOINTS };

/* What became of one request. */
enum admission_outcome {
    ADMISSION_ALLOWED,  /* a review, allowed, no patch */
    ADMISSION_PATCHED,  /* a review, allowed with a patch */
    ADMISSION_DENIED,   /* a review, denied by a policy (403) */
    ADMISSION_ERROR,    /* a review, failed (400 bad object, 500 internal) */
    ADMISSION_OUTCOMES,
    ADMISSION_REJECTED = ADMISSION_OUTCOMES /* no review could be formed: a 4xx answer, not counted above */
};

struct admission_result {
    int status;                     /* HTTP status: 200 with a review, else 4xx/5xx with a one-line reason */
    char *body;                     /* the response review, or the reason; NUL-terminated */
    size_t len;
    enum admission_outcome outcome;
    cJSON *log;                     /* fields for the log line (uid, kind, namespace, name, operation, user,
                                       dryRun, decision, code and message of a denial, patchOps, warnings);
                                       NULL when rejected */
};

/* Run the policy that the routing table gives for the request's kind and operation on that endpoint,
 * filling d (allowed and empty when no policy applies). A validating endpoint never patches. */
void admission_decide(enum admission_endpoint ep, const struct admission_request *req,
                      const struct policy_config *cfg, const struct canary_lookup *lookup, struct decision *d);
/* Decode body, decide, encode. Always fills out (status 500 with a reason when out of memory). */
void admission_handle(enum admission_endpoint ep, const char *body, size_t len, const struct policy_config *cfg,
                      const struct canary_lookup *lookup, struct admission_result *out);
/* Free what admission_handle filled; out is zeroed. */
void admission_result_free(struct admission_result *out);
/* "mutate" / "validate", and "allowed", "patched", "denied", "error", "rejected". */
const char *admission_endpoint_name(enum admission_endpoint ep);
const char *admission_outcome_name(enum admission_outcome o);

#endif
