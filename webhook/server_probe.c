/*
 * The health and metrics answers both listeners give, and the plain-HTTP probe listener. The probe
 * listener is deliberately small: one polling thread, a few connections, short timeouts, no request
 * bodies read, and no route to the admission endpoints, so that opening it widens nothing but the read-only
 * pages the kubelet and Prometheus need.
 */
#include "server_probe.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "server_conn.h"
#include "tls_creds.h"

/* The kubelet probes each container every few seconds and Prometheus scrapes every 30 s: a few
 * connections are plenty; past this many libmicrohttpd refuses new ones. */
#define PROBE_CONNECTIONS 64
/* Seconds a probe connection may stay silent (the kubelet's probes time out after 1-2 s themselves). */
#define PROBE_TIMEOUT 10
/* Request line and headers only: probes carry no body worth reading. */
#define PROBE_MEMORY 8192

#define TEXT_TYPE "text/plain; charset=utf-8"

static void answer_text(struct server_probe_answer *out, int status, const char *text)
{
    out->status = status;
    out->type = TEXT_TYPE;
    out->len = strlen(text);
    out->body = strdup(text);
}

/* The path of url without its query: 1 when it is exactly path. */
static int is_path(const char *url, const char *path)
{
    size_t n = strcspn(url, "?");

    return strlen(path) == n && strncmp(url, path, n) == 0;
}

int server_probe_answer(const char *url, const struct server_probe_state *st, struct server_probe_answer *out)
{
    struct metrics_sources src = {st->cache, st->events, 0};

    if (!is_path(url, "/healthz") && !is_path(url, "/readyz") && !is_path(url, "/metrics"))
        return -1;
    if (!out)
        return 0;
    if (is_path(url, "/healthz")) {
        answer_text(out, 200, "ok\n");
    } else if (is_path(url, "/readyz")) {
        if (atomic_load(st->draining))
            answer_text(out, 503, "shutting down\n");
        else if (!cache_ready(st->cache))
            answer_text(out, 503, "Canary cache not in sync\n");
        else
            answer_text(out, 200, "ok\n");
    } else {
        src.cert_not_after = tls_creds_not_after();
        out->status = 200;
        out->type = "text/plain; version=0.0.4; charset=utf-8";
        out->body = metrics_render(&src);
        out->len = out->body ? strlen(out->body) : 0;
    }
    return 0;
}

/* ---- the probe listener ---- */

static enum MHD_Result respond(struct MHD_Connection *conn, const struct server_probe_state *st,
                               struct server_probe_answer *a, int close)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(a->len, a->body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    if (!r) {
        free(a->body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
    if (a->status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (a->status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    /* A refused request may have left a body unread on the connection; after SIGTERM nothing is reused. */
    if (close || atomic_load(st->draining))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(conn, (unsigned int)a->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Anything but GET or HEAD of the three pages: 404 or 405, a warning (an admission webhook pointed at this
 * port would show here), and the connection closed. */
static enum MHD_Result refuse(struct MHD_Connection *conn, const struct server_probe_state *st, const char *method,
                              const char *url, int status)
{
    struct server_probe_answer a;
    cJSON *o = log_line_new(LOG_LEVEL_WARN, "request rejected on the probe listener");

    if (o) {
        log_add_text(o, "method", method);
        log_add_text(o, "path", url);
        cJSON_AddNumberToObject(o, "status", status);
        log_line_write(o);
    }
    answer_text(&a, status, status == MHD_HTTP_NOT_FOUND
                                ? "not found: the probe listener serves GET /healthz, /readyz and /metrics only\n"
                                : "method not allowed: use GET\n");
    if (!a.body)
        return MHD_NO;
    return respond(conn, st, &a, 1);
}

/* A refused request is answered as soon as its headers are in, its body left unread; a page on the call
 * after (libmicrohttpd closes a connection whose response came before the request was complete). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    static int headers_seen;
    const struct server_probe_state *st = cls;
    struct server_probe_answer a;

    (void)version;
    (void)upload_data;
    if (!*con_cls) {
        *con_cls = &headers_seen;
        if (server_probe_answer(url, st, NULL) != 0) /* unknown path, /mutate and /validate too */
            return refuse(conn, st, method, url, MHD_HTTP_NOT_FOUND);
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
            return refuse(conn, st, method, url, MHD_HTTP_METHOD_NOT_ALLOWED);
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* a GET with a body: dropped */
        return MHD_YES;
    }
    if (server_probe_answer(url, st, &a) != 0 || !a.body)
        return MHD_NO; /* out of memory: the connection is closed */
    log_debug("probe listener: %s %s", method, url);
    return respond(conn, st, &a, 0);
}

static struct MHD_Daemon *start(const struct sockaddr_storage *addr, unsigned int flags,
                                const struct server_probe_state *st)
{
    /* epoll, not select(): the HTTPS listener's thousands of connections push descriptors past FD_SETSIZE. */
    if (addr->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    return MHD_start_daemon(flags | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                                MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, (void *)st,
                            MHD_OPTION_EXTERNAL_LOGGER, server_conn_mhd_log,
                            "libmicrohttpd (probe listener)", MHD_OPTION_SOCK_ADDR, addr,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)PROBE_CONNECTIONS,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)PROBE_MEMORY,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)PROBE_TIMEOUT, MHD_OPTION_END);
}

struct MHD_Daemon *server_probe_start(const struct sockaddr_storage *addr, int any, const struct server_probe_state *st)
{
    struct sockaddr_storage v4;
    struct MHD_Daemon *d = start(addr, any ? MHD_USE_DUAL_STACK : 0, st);

    if (!d && any) {
        v4 = *addr;
        server_conn_any_ipv4(&v4);
        d = start(&v4, 0, st);
    }
    return d;
}

void server_probe_stop(struct MHD_Daemon *d)
{
    if (d)
        MHD_stop_daemon(d);
}
