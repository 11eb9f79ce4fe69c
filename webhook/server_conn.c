/*
 * Connection deadlines, the shared body budget, the file limit and the listen address (server_conn.h).
 * Every open connection has a record on one list under one mutex; the sweep walks it. The record is taken
 * off the list in the CLOSED notification, which libmicrohttpd sends before it closes the socket, so the
 * sweep never shuts down a descriptor that already belongs to another connection.
 */
#include "server_conn.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "log.h"
#include "monotime.h"

/* Files the process needs besides its connections: the listen socket, epoll and wake-up descriptors of the
 * worker threads, the API server's connections, log and certificate files. */
#define OTHER_FILES 128

struct conn_rec {
    struct conn_rec *prev, *next;
    MHD_socket fd;
    double deadline;  /* monotime_now() seconds; 0 once the sweep closed it */
    int in_request;   /* between the first byte of a request (or the accept) and its response */
    int busy;         /* between a request line and the request's completion (its response sent) */
    int closing;      /* shut down by server_conn_close_idle: no request may start on it */
};

static struct {
    pthread_mutex_t lock; /* guards the list and every record's deadline and in_request */
    struct conn_rec *head;
    double request_timeout, idle_timeout;
    size_t budget;
    atomic_size_t used;
} sc = {.lock = PTHREAD_MUTEX_INITIALIZER, .request_timeout = 10, .idle_timeout = 120, .budget = 64u << 20};

void server_conn_configure(unsigned request_timeout, unsigned idle_timeout, size_t body_budget)
{
    sc.request_timeout = request_timeout;
    sc.idle_timeout = idle_timeout;
    sc.budget = body_budget;
}

void server_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
    const union MHD_ConnectionInfo *ci;
    struct conn_rec *r = *socket_context;

    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || !(r = calloc(1, sizeof(*r))))
            return; /* out of memory: this connection has only libmicrohttpd's inactivity timeout */
        r->fd = ci->connect_fd;
        r->in_request = 1;
        pthread_mutex_lock(&sc.lock);
        r->deadline = monotime_now() + sc.request_timeout;
        r->next = sc.head;
        if (sc.head)
            sc.head->prev = r;
        sc.head = r;
        pthread_mutex_unlock(&sc.lock);
        *socket_context = r;
        return;
    }
    if (!r)
        return;
    pthread_mutex_lock(&sc.lock);
    if (r->prev)
        r->prev->next = r->next;
    else
        sc.head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    pthread_mutex_unlock(&sc.lock);
    free(r);
    *socket_context = NULL;
}

static struct conn_rec *rec_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci ? ci->socket_context : NULL;
}

int server_conn_request_started(struct MHD_Connection *conn)
{
    struct conn_rec *r = rec_of(conn);
    int closing;

    if (!r)
        return 0;
    pthread_mutex_lock(&sc.lock);
    closing = r->closing;
    r->busy = !closing;
    /* A new connection's first request keeps the deadline that started at the accept. */
    if (!r->in_request && r->deadline) {
        r->in_request = 1;
        r->deadline = monotime_now() + sc.request_timeout;
    }
    pthread_mutex_unlock(&sc.lock);
    return closing ? -1 : 0;
}

void server_conn_request_done(struct MHD_Connection *conn)
{
    struct conn_rec *r = rec_of(conn);

    if (!r)
        return;
    pthread_mutex_lock(&sc.lock);
    r->busy = 0;
    pthread_mutex_unlock(&sc.lock);
}

unsigned server_conn_close_idle(void)
{
    unsigned closed = 0;
    struct conn_rec *r;

    pthread_mutex_lock(&sc.lock);
    for (r = sc.head; r; r = r->next) {
        if (r->busy || r->closing)
            continue;
        shutdown(r->fd, SHUT_RDWR);
        r->closing = 1;
        r->deadline = 0;
        closed++;
    }
    pthread_mutex_unlock(&sc.lock);
    return closed;
}

void server_conn_request_answered(struct MHD_Connection *conn)
{
    struct conn_rec *r = rec_of(conn);

    if (!r)
        return;
    pthread_mutex_lock(&sc.lock);
    if (r->deadline) {
        r->in_request = 0;
        r->deadline = monotime_now() + sc.idle_timeout;
    }
    pthread_mutex_unlock(&sc.lock);
}

unsigned server_conn_sweep(void)
{
    double now = monotime_now();
    unsigned closed = 0, requests = 0;
    struct conn_rec *r;

    pthread_mutex_lock(&sc.lock);
    for (r = sc.head; r; r = r->next) {
        if (!r->deadline || now < r->deadline)
            continue;
        /* libmicrohttpd sees the end of the stream on its next read and closes the connection itself. */
        shutdown(r->fd, SHUT_RDWR);
        r->deadline = 0;
        closed++;
        requests += r->in_request != 0;
    }
    pthread_mutex_unlock(&sc.lock);
    if (closed)
        log_debug("closed %u connections past their deadline (%u in a request, %u idle)", closed, requests,
                  closed - requests);
    return closed;
}

int server_conn_body_take(size_t *held, size_t cap)
{
    size_t more, used;

    if (cap <= *held)
        return 0;
    more = cap - *held;
    used = atomic_load(&sc.used);
    do {
        if (more > sc.budget || used > sc.budget - more)
            return -1;
    } while (!atomic_compare_exchange_weak(&sc.used, &used, used + more));
    *held = cap;
    return 0;
}

void server_conn_body_give_back(size_t *held)
{
    atomic_fetch_sub(&sc.used, *held);
    *held = 0;
}

size_t server_conn_body_in_use(void)
{
    return atomic_load(&sc.used);
}

unsigned server_conn_fit_fd_limit(unsigned want)
{
    struct rlimit rl;
    rlim_t room;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)want + OTHER_FILES)
        return want;
    room = rl.rlim_cur > 2 * OTHER_FILES ? rl.rlim_cur - OTHER_FILES : rl.rlim_cur / 2;
    log_warn("open files are limited to %lu: serving at most %lu connections instead of %u",
             (unsigned long)rl.rlim_cur, (unsigned long)room, want);
    return (unsigned)room;
}

int server_conn_parse_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *addrlen, int *any)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    const char *port;
    struct addrinfo hints, *res = NULL;
    size_t hl;
    int rc;

    if (!colon || !colon[1])
        return -1;
    port = colon + 1;
    hl = (size_t)(colon - listen);
    if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
        listen++;
        hl -= 2;
    }
    if (hl >= sizeof(host))
        return -1;
    memcpy(host, listen, hl);
    host[hl] = '\0';
    *any = hl == 0;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = *any ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(*any ? NULL : host, port, &hints, &res);
    if (rc != 0 || !res)
        return -1;
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

void server_conn_any_ipv4(struct sockaddr_storage *addr)
{
    struct sockaddr_in *in = (struct sockaddr_in *)addr;
    unsigned short port = ((struct sockaddr_in6 *)addr)->sin6_port;

    memset(addr, 0, sizeof(*addr));
    in->sin_family = AF_INET;
    in->sin_port = port;
}

void server_conn_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    /* Failed handshakes (old TLS versions, port scans, health probes closing early) are routine. */
    log_debug("%s: %s", (const char *)cls, msg);
}
