/*
 * The one reader of the URLs that Canary webhooks call (the Flagger loadtester's): the origin (scheme,
 * host, port) that says which loadtester holds a gate, the path its router matches, and a form of a URL
 * fit to quote in a message. Pure functions over C strings; nothing here allocates.
 *
 * Only http and https with a host are origins: a URL with userinfo (user:password@), an empty host or a
 * port outside 1-65535 has none, because manual-gate cannot tell which loadtester it reaches.
 */
#ifndef MG_URL_H
#define MG_URL_H

#include <stddef.h>

/* Longest origin kept: "https://" + a 253-character DNS name + ":65535", with room to spare. */
#define URL_ORIGIN_MAX 300

/* How url_origin writes an origin. */
enum url_form {
    URL_CANONICAL,  /* lower-case scheme and host, no default port: for comparing two origins */
    URL_AS_WRITTEN, /* scheme, host and port as the user wrote them (an explicit :80 stays): for new hooks */
};

/* The parts of an http(s) URL. host points into the URL (with brackets for IPv6); port is the explicit
 * port or 0. */
struct url_parts {
    const char *scheme; /* "http" or "https" (static text) */
    size_t scheme_len;  /* as written ("HTTP" has 4 too) */
    const char *host;
    size_t host_len;
    int port;
    const char *rest;   /* what follows the authority: path, query, fragment ("" when none) */
};

/* Split an http(s) URL. 0, or -1 when it is not one with a usable host (see the top of this file). */
int url_parse(const char *url, struct url_parts *out) __attribute__((warn_unused_result));
/* The port a request to the URL goes to: the explicit one, else 80 or 443. */
int url_port(const struct url_parts *u);
/* Write the origin of url into buf ("http://h:8080") in the given form. With base_only, anything after
 * the authority other than slashes is refused (a base URL, not a hook's URL). 0, or -1 when url has no
 * origin or it does not fit; buf is then "". */
int url_origin(const char *url, enum url_form form, int base_only, char *buf, size_t len) __attribute__((warn_unused_result));
/* The path of a URL ("http://h:80/gate/check?x" -> "/gate/check"), percent-decoded and exact (a trailing
 * "/" is kept), as the loadtester's Go router matches it, written into buf. "" when there is no path, an
 * escape is invalid or %00, or the path does not fit in buf. Returns buf. */
const char *url_path(const char *url, char *buf, size_t len);
/* url fit to quote in a message that the server logs: userinfo becomes "***@", a query or fragment
 * "?***" (either may carry credentials). Cut to fit buf. Returns buf. */
const char *url_redacted(const char *url, char *buf, size_t len);

#endif
