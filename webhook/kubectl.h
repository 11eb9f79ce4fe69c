/*
 * Running kubectl for the operator commands (status, gate, rollback, check): every call to the API server
 * goes through the user's own kubectl, so every kubeconfig, context and auth plugin works as it does for
 * kubectl itself. kubectl is started with an argv, never through a shell; its stdout and stderr are
 * captured into bounded buffers, with a deadline; and its failures are sorted into the few that a person
 * acts on differently (kubectl missing, API server unreachable, credentials refused, RBAC refusal, ...).
 *
 * Only raw API paths are used (`get --raw`, `create --raw -f -`), so no API discovery is needed.
 *
 * Memory: a struct kubectl_result owns its two buffers; release them with kubectl_result_free(). A cJSON
 * tree from kubectl_get_json belongs to the caller.
 */
#ifndef MG_KUBECTL_H
#define MG_KUBECTL_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "buf.h"

/* How to run kubectl: what the user passed through. NULL fields mean kubectl's own default. */
struct kubectl {
    const char *kubeconfig; /* --kubeconfig */
    const char *context;    /* --context */
};

/* What became of one kubectl run. */
enum kubectl_status {
    KUBECTL_OK,           /* exit status 0 */
    KUBECTL_MISSING,      /* kubectl is not installed (not found in PATH, or not executable) */
    KUBECTL_TIMEOUT,      /* killed at the deadline */
    KUBECTL_UNREACHABLE,  /* no answer from the API server of the context */
    KUBECTL_UNAUTHORIZED, /* the API server refused the credentials (401) */
    KUBECTL_FORBIDDEN,    /* a 403: an RBAC refusal, or a proxied service's own 403 (see kubectl.c) */
    KUBECTL_NOT_FOUND,    /* a 404 */
    KUBECTL_UNAVAILABLE,  /* a 503: for the services proxy, the service could not be reached */
    KUBECTL_HTTP_ERROR,   /* any other error answer of the server, in reason and message */
    KUBECTL_FAILED,       /* kubectl's own error (a bad kubeconfig, an unknown context, ...) */
};

struct kubectl_result {
    enum kubectl_status status;
    int exit_code;     /* kubectl's exit status, -1 when it did not exit by itself */
    struct buf out;    /* stdout */
    struct buf err;    /* stderr */
    char reason[64];   /* the server's reason ("Forbidden", "NotFound", ...), "" for other failures */
    char message[512]; /* the server's message or kubectl's own error line, "" when OK */
};

/* Run kubectl with args (NULL-terminated, without "kubectl" and the pass-through flags, which this adds),
 * feeding stdin_data (NULL: /dev/null); it is killed after timeout_seconds (its own --request-timeout is
 * shorter). The environment variable
 * MANUAL_GATE_KUBECTL names another kubectl binary. Always fills res (free it with kubectl_result_free);
 * returns 0 when kubectl exited 0, -1 otherwise (res->status says why). */
int kubectl_run(const struct kubectl *k, const char *const *args, const char *stdin_data, int timeout_seconds,
                struct kubectl_result *res);
/* GET an API path (e.g. "/apis/flagger.app/v1beta1/namespaces/test/canaries") and parse the answer. The
 * tree, or NULL with res->status set (KUBECTL_FAILED for an answer that is not JSON). */
cJSON *kubectl_get_json(const struct kubectl *k, const char *path, struct kubectl_result *res);
/* POST body to an API path (`create --raw PATH -f -`); 0 on a 2xx answer (its body in res->out). */
int kubectl_post(const struct kubectl *k, const char *path, const char *body, struct kubectl_result *res);
/* The namespace of the context (kubectl config view --minify), "default" when it names none. 0, or -1
 * with a reason in err. */
int kubectl_namespace(const struct kubectl *k, char *buf, size_t len, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* A sentence saying why a call failed, naming what was asked when RBAC refused it: verb ("get", "list",
 * "create"), resource ("canaries.flagger.app", "services/proxy") and where ("in namespace test"). */
void kubectl_describe(const struct kubectl_result *res, const char *verb, const char *resource, const char *where,
                      char *buf, size_t len);
/* Release the buffers; res can be reused. */
void kubectl_result_free(struct kubectl_result *res);

/* Sort kubectl's stderr and exit code into status/reason/message (pure; kubectl_run uses it). */
void kubectl_classify(struct kubectl_result *res);

#endif
