/*
 * URL reading for loadtester webhooks. Origins are compared canonically (case-folded, default port
 * dropped) because two spellings of one origin reach the same loadtester; new hooks are written with
 * the origin as the user wrote it, so a GitOps diff shows only what was added.
 */
#include "url.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* 1 when the authority part [auth, end) has a well-formed host and port, filling out. */
static int parse_authority(const char *auth, const char *end, struct url_parts *out)
{
    const char *host_end, *p;
    long port = 0;

    if (*auth == '[') {
        host_end = memchr(auth, ']', (size_t)(end - auth));
        if (!host_end || host_end - auth < 2)
            return 0;
        for (p = auth + 1; p < host_end; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                return 0;
        host_end++;
    } else {
        /* No '@' among these: userinfo is refused, it would hide which host is called. */
        for (host_end = auth; host_end < end && *host_end != ':'; host_end++)
            if (!isalnum((unsigned char)*host_end) && !strchr("-._", *host_end))
                return 0;
        if (host_end == auth)
            return 0;
    }
    if (host_end < end) {
        if (*host_end != ':' || host_end + 1 == end || end - host_end > 6)
            return 0;
        for (p = host_end + 1; p < end; p++) {
            if (!isdigit((unsigned char)*p))
                return 0;
            port = port * 10 + (*p - '0');
        }
        if (port < 1 || port > 65535)
            return 0;
    }
    out->host = auth;
    out->host_len = (size_t)(host_end - auth);
    out->port = (int)port;
    out->rest = end;
    return 1;
}

int url_parse(const char *url, struct url_parts *out)
{
    const char *auth;

    memset(out, 0, sizeof(*out));
    if (!url)
        return -1;
    if (strncasecmp(url, "http://", 7) == 0) {
        out->scheme = "http";
        auth = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        out->scheme = "https";
        auth = url + 8;
    } else {
        return -1;
    }
    out->scheme_len = (size_t)(auth - 3 - url);
    if (!parse_authority(auth, auth + strcspn(auth, "/?#"), out)) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    return 0;
}

static int default_port(const struct url_parts *u)
{
    return strcmp(u->scheme, "https") == 0 ? 443 : 80;
}

int url_port(const struct url_parts *u)
{
    return u->port ? u->port : default_port(u);
}

int url_origin(const char *url, enum url_form form, int base_only, char *buf, size_t len)
{
    struct url_parts u;
    size_t i, n;
    int port;

    if (len)
        buf[0] = '\0';
    if (url_parse(url, &u) < 0)
        return -1;
    if (base_only && u.rest[strspn(u.rest, "/")] != '\0')
        return -1;
    if (form == URL_AS_WRITTEN) {
        /* Everything up to the end of the authority, exactly as written. */
        n = (size_t)(u.rest - url);
        if (n >= len)
            return -1;
        memcpy(buf, url, n);
        buf[n] = '\0';
        return 0;
    }
    port = u.port == default_port(&u) ? 0 : u.port;
    n = strlen(u.scheme) + 3 + u.host_len + (port ? 6 : 0);
    if (n >= len)
        return -1;
    n = (size_t)snprintf(buf, len, "%s://", u.scheme);
    for (i = 0; i < u.host_len; i++)
        buf[n++] = (char)tolower((unsigned char)u.host[i]);
    buf[n] = '\0';
    if (port)
        snprintf(buf + n, len - n, ":%d", port);
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Where the authority of any "scheme://" URL starts, or url itself when no scheme comes before the
 * path, query or fragment ("/gate/check?next=http://x" is a path). */
static const char *authority_start(const char *url)
{
    const char *p = strstr(url, "://");

    return p && (size_t)(p - url) < strcspn(url, "/?#") ? p + 3 : url;
}

/* Where the authority ends (url itself when there is none). */
static const char *after_authority(const char *url)
{
    const char *auth = authority_start(url);

    return auth == url ? url : auth + strcspn(auth, "/?#");
}

const char *url_path(const char *url, char *buf, size_t len)
{
    const char *p, *end;
    size_t n = 0;

    if (!len)
        return buf;
    buf[0] = '\0';
    if (!url || *(p = after_authority(url)) != '/')
        return buf;
    /* The loadtester's Go ServeMux matches the decoded path exactly: "/gate/%63heck" is its gate
     * check, "/gate/check/" is not (its catch-all task handler answers that). */
    for (end = p + strcspn(p, "?#"); p < end; p++) {
        char c = *p;

        if (c == '%') {
            int hi = end - p > 2 ? hex_value(p[1]) : -1, lo = hi < 0 ? -1 : hex_value(p[2]);

            /* A bad escape fails Go's url.Parse, so Flagger never calls the hook; NUL names no route. */
            if (lo < 0 || (hi == 0 && lo == 0))
                break;
            c = (char)(hi * 16 + lo);
            p += 2;
        }
        if (n + 1 >= len)
            break;
        buf[n++] = c;
    }
    /* A cut path is not the path: a prefix of it could match what the whole does not. */
    buf[p < end ? 0 : n] = '\0';
    return buf;
}

const char *url_redacted(const char *url, char *buf, size_t len)
{
    const char *auth, *at = NULL, *p, *tail;

    if (!url)
        url = "";
    auth = authority_start(url);
    for (p = auth; *p && !strchr("/?#", *p); p++)
        if (*p == '@')
            at = p;
    tail = p + strcspn(p, "?#");
    snprintf(buf, len, "%.*s%s%.*s%s", (int)(auth - url), url, at ? "***@" : "",
             (int)(tail - (at ? at + 1 : auth)), at ? at + 1 : auth, *tail ? "?***" : "");
    return buf;
}
