/*
 * What the HTTPS server keeps per connection and across all of them, apart from HTTP itself: the deadline
 * by which a request must have arrived whole, the memory budget shared by every request body, the file
 * descriptor limit and the listen address. libmicrohttpd's own timeout is an inactivity timeout, reset by
 * every byte, so a client sending one byte a second would hold a connection for ever: the deadline here
 * runs from the first byte of a request (from the accept for a new connection) whatever the byte rate, and
 * a sweep closes the connections past theirs (docs/design.md, "Hostile clients").
 *
 * Memory: one small record per open connection, made at MHD_CONNECTION_NOTIFY_STARTED and freed at
 * MHD_CONNECTION_NOTIFY_CLOSED; nothing else is allocated.
 */
#ifndef MG_SERVER_CONN_H
#define MG_SERVER_CONN_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>

#include <microhttpd.h>

/* Set the deadlines (seconds) and the body budget (bytes) before the daemon starts. request_timeout: from the
 * first byte of a request (or the accept) to its last byte; idle_timeout: the longest a keep-alive connection
 * may wait between requests, counted from the end of the last one, however it trickles. */
void server_conn_configure(unsigned request_timeout, unsigned idle_timeout, size_t body_budget);

/* MHD_OPTION_NOTIFY_CONNECTION callback: a new connection starts its first request's deadline at once. */
void server_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode code);
/* The request line of a request has arrived: an idle connection starts the request deadline. 0, or -1 when
 * the connection was closed by server_conn_close_idle: the request must not be decided, its answer could
 * not be sent. */
int server_conn_request_started(struct MHD_Connection *conn) __attribute__((warn_unused_result));
/* The request has completed (its response sent, or the connection closed under it). */
void server_conn_request_done(struct MHD_Connection *conn);
/* Shut down every connection not carrying a request (between a request line and its completion), so that
 * stopping the server cuts no request: an idle keep-alive connection has nothing to finish. Returns how
 * many were closed now. */
unsigned server_conn_close_idle(void);
/* A response is queued: the connection is idle again (until idle_timeout from now). */
void server_conn_request_answered(struct MHD_Connection *conn);
/* Close (shutdown(2); libmicrohttpd then closes and frees them) every connection past its deadline. Returns
 * how many. Call a few times a second from any thread. */
unsigned server_conn_sweep(void);

/* Take memory for a request body from the shared budget: *held is what this body has taken so far, cap the
 * allocation it needs now. 0 (and *held = cap) or -1 when the budget cannot give it (nothing taken). */
int server_conn_body_take(size_t *held, size_t cap);
/* Give back everything a body took; *held becomes 0. */
void server_conn_body_give_back(size_t *held);
/* Bytes of the budget taken by all bodies now. */
size_t server_conn_body_in_use(void);

/* Raise the soft limit of open files to the hard one and return how many connections fit under it: want, or
 * fewer (with a log line) when the limit leaves no room for them besides the process's other files. */
unsigned server_conn_fit_fd_limit(unsigned want);

/* ":8443", "0.0.0.0:8443", "127.0.0.1:8443", "[::1]:8443", "localhost:8443". 0, or -1 when it does not
 * resolve; *any is 1 for ":port" (all addresses, IPv6 and IPv4). */
int server_conn_parse_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *addrlen, int *any);
/* Turn the ":port" address server_conn_parse_listen gave (IPv6 any) into IPv4 any on the same port, for a host
 * without IPv6. */
void server_conn_any_ipv4(struct sockaddr_storage *addr);

/* MHD_OPTION_EXTERNAL_LOGGER for both listeners: one debug line, prefixed with cls (a const char *). */
void server_conn_mhd_log(void *cls, const char *fmt, va_list ap);

#endif
