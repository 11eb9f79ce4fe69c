/*
 * The health and metrics answers (/healthz, /readyz, /metrics), and the plain-HTTP probe listener
 * (--probe-listen) that serves them and nothing else. With --client-ca the HTTPS port refuses every client
 * without a certificate, the kubelet's httpGet probes and a Prometheus scrape included; the probe listener
 * gives them the same answers from the same state, while the admission endpoints stay on HTTPS only.
 */
#ifndef MG_SERVER_PROBE_H
#define MG_SERVER_PROBE_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "cache.h"
#include "events.h"

/* What the answers read: the cache (readiness, metrics), the Events queue (metrics, NULL when off), and the
 * server's draining flag (set at SIGTERM: /readyz fails from then on, on every listener). */
struct server_probe_state {
    struct cache *cache;
    struct events *events;
    atomic_int *draining;
};

/* One answer: status, content type and a malloc'd body (NULL when out of memory). */
struct server_probe_answer {
    int status;
    const char *type;
    char *body;
    size_t len;
};

/* The answer to GET url (a query is ignored): 0 for /healthz, /readyz and /metrics, -1 for any other path
 * (nothing filled in). out NULL: only whether url is one of the three. */
int server_probe_answer(const char *url, const struct server_probe_state *st, struct server_probe_answer *out);

/* Start the probe listener on addr (any: ":port", IPv6 and IPv4, or IPv4 alone where the host has no IPv6):
 * plain HTTP, GET and HEAD of the three paths only, a few connections with short timeouts. NULL when it
 * cannot listen. st must outlive the listener. */
struct MHD_Daemon *server_probe_start(const struct sockaddr_storage *addr, int any, const struct server_probe_state *st);
/* Close the listener and its connections (NULL: nothing). */
void server_probe_stop(struct MHD_Daemon *d);

#endif
