/*
 * The HTTPS server: TLS (libmicrohttpd over GnuTLS), routing, body limits, health and metrics
 * endpoints (also on the plain-HTTP probe listener, server_probe.h), certificate hot reload, graceful
 * shutdown. It decodes reviews with review.c and asks the
 * policies (policy.h) for a decision; it never decides anything itself.
 */
#ifndef MG_SERVER_H
#define MG_SERVER_H

#include <stddef.h>

#include "cache.h"
#include "events.h"
#include "policy.h"

/* Largest request body accepted. An UPDATE carries object and oldObject of up to 1.5 MiB each (etcd's
 * request limit), i.e. 3 MiB plus the envelope, and JSON escaping can make an object's JSON larger
 * than its stored form: 6 MiB leaves room for both without letting one client pin much memory
 * (controller-runtime takes 7 MiB, pod-security 3 MiB). Beyond it: 413. */
#define SERVER_BODY_LIMIT (6u * 1024 * 1024)

struct server_config {
    const char *listen;        /* "host:port", ":port" (all addresses) or "[v6]:port" */
    const char *cert_file;     /* PEM certificate chain, re-read when it changes */
    const char *key_file;      /* PEM private key, re-read when it changes */
    unsigned threads;          /* libmicrohttpd worker threads */
    unsigned shutdown_timeout; /* seconds to wait for in-flight reviews after SIGTERM (and the delay) */
    unsigned shutdown_delay;   /* seconds to keep serving after SIGTERM, /readyz failing, so endpoints go */
    unsigned request_timeout;  /* seconds a request may take to arrive whole, from its first byte */
    unsigned max_connections;  /* open connections at most (fewer when the open-files limit is lower) */
    unsigned per_address;      /* open connections per client address at most; 0: no such limit */
    size_t body_budget;        /* bytes all request bodies together may hold */
    const char *client_ca;     /* PEM CA bundle: require client certificates it verifies; NULL: none */
    const char *probe_listen;  /* plain-HTTP /healthz, /readyz, /metrics on this address; NULL: none */
    const struct policy_config *policy;
    struct cache *cache;
    struct events *events;     /* where denials and overrides are told as Events; NULL: none */
};

/* Serve until SIGTERM or SIGINT, then drain and return the exit code (0 after a clean shutdown).
 * The caller must have blocked SIGTERM, SIGINT and SIGPIPE in every thread (server_block_signals). */
int server_run(const struct server_config *cfg);
/* Block the signals server_run waits for; call before starting any thread. */
void server_block_signals(void);

#endif
