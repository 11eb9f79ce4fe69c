/*
 * A small Kubernetes API client on libcurl: where the API server is (--kube-api, or in-cluster from
 * KUBERNETES_SERVICE_HOST/_PORT), how to trust it (--kube-ca-file or the service-account CA) and who we
 * are (a bearer token read from --kube-token-file or the service-account token, re-read when the file
 * changes and after a 401). It does plain GETs, streamed GETs (watches) and POSTs of JSON one at a time;
 * another thread may interrupt a running call.
 *
 * Memory: kube_open returns a client the caller releases with kube_close. kube_get hands the caller a
 * malloc'd body to free. kube_escape returns a malloc'd string to free. Lines passed to a
 * kube_line_fn are borrowed for the duration of the call.
 */
#ifndef MG_KUBE_H
#define MG_KUBE_H

#include <stddef.h>

struct kube;

struct kube_config {
    const char *api_url;    /* --kube-api ("https://host:port", "http://127.0.0.1:8001"), NULL for in-cluster */
    const char *token_file; /* --kube-token-file, NULL for the service-account token (https only) */
    const char *ca_file;    /* --kube-ca-file, NULL for the service-account CA, else the system CAs */
};

/* Called with each complete line of a streamed 2xx response (without the newline); once first with
 * line NULL when the response headers have arrived. Return non-zero to end the stream. */
typedef int (*kube_line_fn)(void *ctx, const char *line, size_t len);

/* 1 when cfg (or the environment) names an API server at all. */
int kube_configured(const struct kube_config *cfg);
/* Resolve the endpoint, CA and token file and set up libcurl. NULL with a reason in err when the
 * configuration cannot work (no endpoint, bad URL, an explicit file that cannot be read). */
struct kube *kube_open(const struct kube_config *cfg, char *err, size_t errlen);
/* Release the client. NULL is fine. */
void kube_close(struct kube *k);
/* The API server's base URL ("https://10.0.0.1:443"). */
const char *kube_base_url(const struct kube *k);
/* GET base+path. 0 when a response arrived: *status is its HTTP status, *body its NUL-terminated
 * body (caller frees). -1 with a reason in err on a transport error or interruption. */
int kube_get(struct kube *k, const char *path, long *status, char **body, size_t *len, char *err, size_t errlen) __attribute__((warn_unused_result));
/* kube_stream's answers besides 0 and -1, each with a reason in err: a line was longer than the cap
 * (8 MiB), or no complete line arrived for idle_seconds. */
#define KUBE_STREAM_TOO_LONG (-2)
#define KUBE_STREAM_IDLE (-3)
/* GET base+path and feed a 2xx response to fn line by line. 0 when the server ended the response
 * (*status says how it started), -1 with a reason in err on a transport error, when fn ended the
 * stream, or when interrupted; KUBE_STREAM_TOO_LONG or KUBE_STREAM_IDLE (above). timeout_seconds bounds
 * the whole call; idle_seconds (0: no bound) the wait for the response and for each next line. */
int kube_stream(struct kube *k, const char *path, long timeout_seconds, long idle_seconds, kube_line_fn fn,
                void *ctx, long *status, char *err, size_t errlen) __attribute__((warn_unused_result));
/* POST body (JSON, len bytes) to base+path; the response body is read and dropped. 0 when a response
 * arrived (*status is its HTTP status), -1 with a reason in err on a transport error or interruption.
 * timeout_seconds bounds the whole call. */
int kube_post(struct kube *k, const char *path, const char *body, size_t len, long timeout_seconds, long *status,
              char *err, size_t errlen) __attribute__((warn_unused_result));
/* From any thread: make the running call (and every later one) return -1 promptly. */
void kube_interrupt(struct kube *k);
/* URL-escape s for a query parameter (caller frees); NULL on allocation failure. */
char *kube_escape(const char *s);

#endif
