/*
 * HTTPS transport for the admission endpoints. libmicrohttpd does the HTTP/1.1 work; its TLS is GnuTLS
 * underneath, so the certificate is handed over as GnuTLS credentials through a per-handshake callback,
 * which is what lets a renewed certificate be served without a restart. This file routes, bounds and
 * logs requests; every decision comes from admission_handle.
 */
#include "server.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "buf.h"
#include "log.h"
#include "metrics.h"
#include "monotime.h"
#include "admission.h"
#include "arena.h"
#include "server_conn.h"
#include "server_probe.h"
#include "tls_creds.h"

/* TLS 1.2 and 1.3 only, AEAD ciphers only, forward-secret key exchange only. The API server's Go TLS
 * client offers all of these. */
#define TLS_PRIORITIES                                                                                     \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:" \
    "-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA"

/* Idle keep-alive connections are closed after this many seconds. The API server's HTTP client closes
 * its own idle connections after 90 s; staying open longer means it is always the client that closes,
 * never the server under a request the client is just sending. */
#define CONNECTION_TIMEOUT 120
/* Bytes libmicrohttpd keeps per connection for the request line, headers and read buffer. Large enough
 * that a whole TLS record (up to 16 KiB of body) is read in one pass: with 8 KiB, a 9 KB review took two
 * more trips through the event loop (2.0 epoll_wait a request against 0.26), which cost no CPU but put
 * the request behind the other connections of its thread: p99 at 1,000 req/s on a busy machine was 0.95x
 * the bench floor's with 8 KiB and 0.73x with 24 KiB (16 KiB: 1.03x). The price: libmicrohttpd clears
 * the whole pool after each request, so an idle connection holds about 35 KiB (19 KiB with 8 KiB). */
#define CONNECTION_MEMORY 24576
_Static_assert(TLS_CREDS_RETIRE_SECONDS > CONNECTION_TIMEOUT, "a handshake may outlive retired credentials");

enum route { ROUTE_NONE, ROUTE_MUTATE, ROUTE_VALIDATE, ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_METRICS };

static struct {
    const struct server_config *cfg;
    struct canary_lookup lookup;
    atomic_int in_flight;
    atomic_int draining;
    atomic_int stopping; /* after the shutdown delay: new connections are closed at once */
    struct server_probe_state probe; /* what /healthz, /readyz and /metrics read, on both listeners */
} srv;

/* Per-request state, from the first call of the access handler to the completion callback. */
struct request_ctx {
    enum route route;
    int classified; /* the first call of the access handler (headers complete) has been */
    int reject;  /* HTTP status decided from the headers (404, 405, 413, 415), 0 if none */
    const char *reject_reason;
    int too_large;
    struct buf body; /* bounded by SERVER_BODY_LIMIT */
    size_t held;     /* bytes of the shared body budget this body holds (server_conn_body_take) */
    int close;       /* answered before its body was read: close the connection after the response */
    double start; /* monotime_now() */
};

/* ---- responses ---- */

static enum route route_of(const char *url)
{
    static const struct { const char *path; enum route route; } routes[] = {
        {"/mutate", ROUTE_MUTATE}, {"/validate", ROUTE_VALIDATE}, {"/healthz", ROUTE_HEALTHZ},
        {"/readyz", ROUTE_READYZ}, {"/metrics", ROUTE_METRICS},
    };
    size_t i, n = strcspn(url, "?");

    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strlen(routes[i].path) == n && strncmp(url, routes[i].path, n) == 0)
            return routes[i].route;
    return ROUTE_NONE;
}


static enum MHD_Result respond_allow(struct MHD_Connection *conn, int status, const char *type, char *body,
                                     size_t len, const char *allow, int close)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow ? allow : "GET");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    /* After SIGTERM, ask clients not to reuse the connection: their next request goes to another replica.
     * A request answered before its body was read leaves the rest of the body unread on the connection. */
    if (close || atomic_load(&srv.draining))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(conn, (unsigned int)status, r);
    MHD_destroy_response(r);
    server_conn_request_answered(conn);
    return ret;
}

static enum MHD_Result respond(struct MHD_Connection *conn, int status, const char *type, char *body, size_t len)
{
    return respond_allow(conn, status, type, body, len, NULL, 0);
}

/* The peer's address, "ip:port" or "[ipv6]:port", so a rejected request can be traced to its client (a
 * misconfigured API server, a scanner). "" when unknown. */
static void client_address(struct MHD_Connection *conn, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    char host[INET6_ADDRSTRLEN], port[8];

    out[0] = '\0';
    if (!sa || getnameinfo(sa, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
                           host, sizeof(host), port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return;
    snprintf(out, len, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* A request that cannot form a review: 4xx with a one-line reason, a log line and a counter. */
static enum MHD_Result reject(struct MHD_Connection *conn, const char *method, const char *url, int status,
                              const char *reason, int close)
{
    enum route route = route_of(url);
    cJSON *o = log_line_new(LOG_LEVEL_WARN, "request rejected");
    char client[INET6_ADDRSTRLEN + 10], *body = NULL;
    int n;

    /* The request line (the path arrives percent-decoded: any byte) and a reason that may quote the
     * body are request text: bounded and made well-formed by log_add_text. */
    if (o) {
        client_address(conn, client, sizeof(client));
        log_add_text(o, "method", method);
        log_add_text(o, "path", url);
        cJSON_AddStringToObject(o, "client", client);
        cJSON_AddNumberToObject(o, "status", status);
        log_add_text(o, "reason", reason);
        log_line_write(o);
    }
    metrics_reject(status);
    n = asprintf(&body, "%s\n", reason);
    if (n < 0)
        return MHD_NO;
    return respond_allow(conn, status, "text/plain; charset=utf-8", body, (size_t)n,
                         route == ROUTE_MUTATE || route == ROUTE_VALIDATE ? "POST" : "GET, HEAD", close);
}

static enum MHD_Result handle_review(struct MHD_Connection *conn, const char *method, const char *url,
                                     struct request_ctx *ctx)
{
    enum admission_endpoint ep = ctx->route == ROUTE_MUTATE ? ADMISSION_MUTATE : ADMISSION_VALIDATE;
    struct admission_result res;
    enum MHD_Result ret;
    double seconds;
    cJSON *line;

    arena_begin(); /* decode, decide, encode and log in one region, reset once the answer is queued */
    admission_handle(ep, ctx->body.data, ctx->body.len, srv.cfg->policy, &srv.lookup, &res);
    if (res.status != 200 || !res.body) {
        ret = reject(conn, method, url, res.status ? res.status : 500, res.body ? res.body : "out of memory", 0);
        admission_result_free(&res);
        arena_end();
        return ret;
    }
    seconds = monotime_now() - ctx->start;
    metrics_observe(ep, res.outcome, seconds);
    metrics_notice(&res.notice);
    events_notify(srv.cfg->events, &res.notice);
    if ((line = log_line_new(res.level, "admission")) != NULL) {
        cJSON_AddStringToObject(line, "endpoint", admission_endpoint_name(ep));
        log_line_merge(line, res.log);
        cJSON_AddNumberToObject(line, "latencyMs", seconds * 1000.0);
        log_line_write(line);
    }
    ret = respond(conn, MHD_HTTP_OK, "application/json", res.body, res.len);
    res.body = NULL; /* respond took it */
    admission_result_free(&res);
    arena_end();
    return ret;
}

/* /healthz, /readyz, /metrics: the answers the probe listener gives too (server_probe.c). */
static enum MHD_Result handle_get(struct MHD_Connection *conn, const char *method, const char *url)
{
    struct server_probe_answer a;

    if (server_probe_answer(url, &srv.probe, &a) != 0)
        return reject(conn, method, url, 500, "unrouted request", 0);
    if (!a.body)
        return reject(conn, method, url, 500, "out of memory while answering", 0);
    return respond(conn, a.status, a.type, a.body, a.len);
}

/* Content-Length headers seen so far: the first value, and whether another one differs from it. */
struct lengths {
    const char *first;
    int differ;
};

static enum MHD_Result count_length(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct lengths *l = cls;

    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
        return MHD_YES;
    if (!l->first)
        l->first = value;
    else if (strcmp(l->first, value) != 0)
        l->differ = 1;
    return MHD_YES;
}

/* The body's memory, when its length is declared: taken from the shared budget and allocated at once, so a
 * body that does not fit is refused before it is read (503: another replica, or a later retry, has room). */
static void take_declared(struct request_ctx *ctx, unsigned long long len)
{
    if (server_conn_body_take(&ctx->held, (size_t)len + 1) != 0) {
        ctx->reject = 503;
        ctx->reject_reason = "request bodies in flight fill the memory budget: retry shortly";
    } else if (buf_reserve_total(&ctx->body, (size_t)len) != 0) {
        ctx->reject = 500;
        ctx->reject_reason = "out of memory while reading the body";
    }
}

/* Decide from the request line and headers alone: route, method, content type, declared length. */
static void classify(struct MHD_Connection *conn, const char *method, const char *url, struct request_ctx *ctx)
{
    int is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    int is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    struct lengths lengths = {NULL, 0};
    unsigned long long len;
    const char *type;

    ctx->route = route_of(url);
    /* RFC 9112 6.3: differing lengths leave the message's end unknown (request smuggling): 400. */
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_length, &lengths);
    if (lengths.differ) {
        ctx->reject = 400;
        ctx->reject_reason = "Content-Length headers with different values";
        return;
    }
    if (ctx->route == ROUTE_NONE) {
        ctx->reject = 404;
        ctx->reject_reason = "unknown path: use POST /mutate, POST /validate, GET /healthz, /readyz or /metrics";
        return;
    }
    if (ctx->route == ROUTE_MUTATE || ctx->route == ROUTE_VALIDATE) {
        if (!is_post) {
            ctx->reject = 405;
            ctx->reject_reason = "method not allowed: admission reviews are sent with POST";
            return;
        }
        type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!type || strncasecmp(type, "application/json", 16) != 0 || (type[16] != '\0' && type[16] != ';' &&
                                                                         type[16] != ' ')) {
            ctx->reject = 415;
            ctx->reject_reason = "unsupported Content-Type: admission reviews are application/json";
            return;
        }
        len = lengths.first ? strtoull(lengths.first, NULL, 10) : 0;
        if (len > SERVER_BODY_LIMIT) {
            ctx->reject = 413;
            ctx->reject_reason = "body larger than the 6 MiB limit";
        } else if (len) {
            take_declared(ctx, len);
        }
        return;
    }
    if (!is_get) {
        ctx->reject = 405;
        ctx->reject_reason = "method not allowed: use GET";
    }
}

/* Append a chunk of the body; past the limit the rest is read and dropped, then answered with 413. */
static void body_append(struct request_ctx *ctx, const char *data, size_t n)
{
    size_t cap;

    if (ctx->too_large || ctx->reject)
        return;
    cap = buf_cap_for(&ctx->body, n);
    if (cap && server_conn_body_take(&ctx->held, cap) != 0) {
        ctx->reject = 503;
        ctx->reject_reason = "request bodies in flight fill the memory budget: retry shortly";
        return;
    }
    if (buf_append(&ctx->body, data, n) == 0)
        return;
    if (errno == EFBIG) {
        ctx->too_large = 1;
    } else {
        ctx->reject = 500;
        ctx->reject_reason = "out of memory while reading the body";
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct request_ctx *ctx = *con_cls;

    (void)cls;
    (void)version;
    if (!ctx)
        return MHD_NO; /* out of memory, or the connection closed for the shutdown (on_request_line) */
    if (!ctx->classified) {
        ctx->classified = 1;
        classify(conn, method, url, ctx);
        /* Known from the headers alone: answer now instead of reading a body nobody will use. */
        if (ctx->reject)
            return reject(conn, method, url, ctx->reject, ctx->reject_reason, 1);
        return MHD_YES;
    }
    if (*upload_data_size) {
        body_append(ctx, upload_data, *upload_data_size);
        *upload_data_size = 0;
        /* Out of budget while the body grows (a chunked one): libmicrohttpd takes no response in the middle
         * of a body, so the connection is closed at once rather than read on. */
        if (ctx->reject == 503)
            return reject(conn, method, url, ctx->reject, ctx->reject_reason, 1);
        return MHD_YES;
    }
    if (ctx->reject)
        return reject(conn, method, url, ctx->reject, ctx->reject_reason, 0);
    if (ctx->too_large)
        return reject(conn, method, url, 413, "body larger than the 6 MiB limit", 0);
    if (ctx->route == ROUTE_MUTATE || ctx->route == ROUTE_VALIDATE)
        return handle_review(conn, method, url, ctx);
    /* Probes every few seconds would drown the admissions: debug level only. */
    log_debug("%s %s", method, url);
    return handle_get(conn, method, url);
}

/* The request line has arrived (URI log callback): the request starts here, its deadline too. */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct request_ctx *ctx;

    (void)cls;
    (void)uri;
    /* Closed for the shutdown while this request line was read: the access handler ends it undecided. */
    if (server_conn_request_started(conn) < 0 || !(ctx = calloc(1, sizeof(*ctx))))
        return NULL;
    ctx->body.max = SERVER_BODY_LIMIT;
    ctx->body.wipe = 1; /* a Secret's contents must not be left behind in freed memory */
    ctx->start = monotime_now();
    atomic_fetch_add(&srv.in_flight, 1);
    return ctx;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct request_ctx *ctx = *con_cls;

    (void)cls;
    (void)toe;
    server_conn_request_done(conn);
    if (!ctx)
        return;
    /* The body may hold Secret data (validate_config): clear it before the memory is reused. */
    buf_wipe(&ctx->body);
    server_conn_body_give_back(&ctx->held);
    free(ctx);
    *con_cls = NULL;
    atomic_fetch_sub(&srv.in_flight, 1);
}

void server_block_signals(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* MHD_AcceptPolicyCallback: once stopping, a new connection is closed at once (MHD_quiesce_daemon, which
 * closes the listen socket instead, races with the epoll worker threads and can abort the process). */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)cls;
    (void)addr;
    (void)addrlen;
    return atomic_load(&srv.stopping) ? MHD_NO : MHD_YES;
}

static struct MHD_Daemon *start_daemon(const struct server_config *cfg, const struct sockaddr_storage *addr,
                                       unsigned int flags, unsigned connections)
{
    gnutls_certificate_retrieve_function2 *cb = tls_creds_callback;

    /* MHD_USE_TLS: libmicrohttpd's TLS is GnuTLS; the certificate comes from cert_callback per handshake.
     * A pool of threads each with its own epoll set: thousands of idle connections cost no polling (select()
     * would stop at FD_SETSIZE). */
    if (addr->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The logger first: libmicrohttpd reports problems with later options through it. A per-address limit of 0
     * is none. */
    return MHD_start_daemon(
        flags | MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0,
        on_accept, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, server_conn_mhd_log, "libmicrohttpd",
        MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES, MHD_OPTION_HTTPS_CERT_CALLBACK, cb,
        MHD_OPTION_THREAD_POOL_SIZE, cfg->threads ? cfg->threads : 2, MHD_OPTION_CONNECTION_LIMIT, connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_address, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)CONNECTION_MEMORY, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT,
        MHD_OPTION_NOTIFY_CONNECTION, server_conn_notify, NULL, MHD_OPTION_URI_LOG_CALLBACK, on_request_line, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
}

/* Serve until SIGTERM or SIGINT, then on for the shutdown delay with /readyz failing: the endpoint is
 * removed from the Service while this replica still answers whatever reaches it. A second signal ends the
 * delay. Connections past their deadline are closed a few times a second meanwhile. */
static void serve(unsigned delay)
{
    struct timespec tick = {0, 200 * 1000 * 1000};
    double stop_at = 0;
    unsigned ticks = 0;
    sigset_t set;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    for (;;) {
        sig = sigtimedwait(&set, NULL, &tick);
        if (sig > 0 && atomic_load(&srv.draining))
            return;
        if (sig > 0) {
            atomic_store(&srv.draining, 1);
            stop_at = monotime_now() + delay;
            log_info("received %s: /readyz fails from now; serving %u s more, then draining in-flight reviews",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT", delay);
        }
        server_conn_sweep();
        if (++ticks % 5 == 0)
            tls_creds_poll();
        if (atomic_load(&srv.draining) && monotime_now() >= stop_at)
            return;
    }
}

/* After the delay: stop accepting, close every connection that carries no request, answer the requests in
 * flight (every response says Connection: close) and close their connections as they complete. Done when
 * no request is in flight and no connection was left to close, so stopping the daemon cuts nothing. */
static void drain(unsigned timeout)
{
    double start = monotime_now();
    unsigned closed;

    atomic_store(&srv.stopping, 1);
    for (;;) {
        closed = server_conn_close_idle();
        if (atomic_load(&srv.in_flight) == 0 && closed == 0)
            return;
        if (monotime_now() - start >= (double)timeout) {
            log_warn("shutdown timeout reached: closing with %d requests in flight", atomic_load(&srv.in_flight));
            return;
        }
        server_conn_sweep();
        usleep(20000);
    }
}

/* The probe listener, when --probe-listen is given: 0 (*d NULL without the flag), 2 for an address that does
 * not resolve, 1 when it cannot listen; a log line says which. */
static int start_probe(const struct server_config *cfg, struct MHD_Daemon **d)
{
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int any;

    *d = NULL;
    if (!cfg->probe_listen)
        return 0;
    if (server_conn_parse_listen(cfg->probe_listen, &addr, &addrlen, &any) != 0) {
        log_error("--probe-listen %s: expected host:port, :port or [ipv6]:port", cfg->probe_listen);
        return 2;
    }
    if (!(*d = server_probe_start(&addr, any, &srv.probe))) {
        log_error("cannot listen on %s for probes (address in use, or not a local address?)", cfg->probe_listen);
        return 1;
    }
    log_info("serving /healthz, /readyz and /metrics over plain http on %s", cfg->probe_listen);
    return 0;
}

int server_run(const struct server_config *cfg)
{
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct MHD_Daemon *d, *probe;
    char err[256];
    unsigned conns;
    int any, rc;

    srv.cfg = cfg;
    srv.probe = (struct server_probe_state){cfg->cache, cfg->events, &srv.draining};
    cache_lookup(cfg->cache, &srv.lookup);
    if (server_conn_parse_listen(cfg->listen, &addr, &addrlen, &any) != 0) {
        log_error("--listen %s: expected host:port, :port or [ipv6]:port", cfg->listen);
        return 2;
    }
    if (tls_creds_open(cfg->cert_file, cfg->key_file, cfg->client_ca, err, sizeof(err)) != 0) {
        log_error("cannot load the serving certificate: %s", err);
        return 1;
    }
    server_conn_configure(cfg->request_timeout, CONNECTION_TIMEOUT, cfg->body_budget);
    conns = server_conn_fit_fd_limit(cfg->max_connections);
    d = start_daemon(cfg, &addr, any ? MHD_USE_DUAL_STACK : 0, conns);
    if (!d && any) {
        /* No IPv6 on this host: all IPv4 addresses instead. */
        server_conn_any_ipv4(&addr);
        d = start_daemon(cfg, &addr, 0, conns);
    }
    if (!d) {
        log_error("cannot listen on %s (address in use, or not a local address?)", cfg->listen);
        tls_creds_close();
        return 1;
    }
    if ((rc = start_probe(cfg, &probe)) != 0) {
        MHD_stop_daemon(d);
        tls_creds_close();
        return rc;
    }
    log_info("serving https on %s (TLS 1.2/1.3, %u threads, %u connections, requests within %u s%s)", cfg->listen,
             cfg->threads ? cfg->threads : 2, conns, cfg->request_timeout,
             cfg->client_ca ? ", client certificates required" : "");
    serve(cfg->shutdown_delay);
    drain(cfg->shutdown_timeout);
    MHD_stop_daemon(d);
    server_probe_stop(probe); /* the last: /readyz answers 503 there until the HTTPS listener is gone */
    tls_creds_close();
    log_info("stopped");
    return 0;
}
