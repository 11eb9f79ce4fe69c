/* The one URL reader: origins (which loadtester holds a gate), paths (which loadtester route a hook
 * calls) and the redacted form messages quote. */
#include "check.h"
#include "url.h"

static void url_path_is_the_decoded_path_the_loadtester_routes(void)
{
    static const struct { const char *url, *want; } cases[] = {
        {"http://lt.test/gate/check", "/gate/check"},
        /* The loadtester's ServeMux routes "/gate/check/" to its task handler, not to the gate. */
        {"http://lt.test:8080/gate/check/", "/gate/check/"},
        {"http://lt.test/gate/check//", "/gate/check//"},
        /* ServeMux matches the decoded path. */
        {"http://lt/gate/%63heck", "/gate/check"},
        {"http://lt/gate%2Fcheck", "/gate/check"},
        {"http://lt/%67%61%74%65/%43heck", "/gate/Check"},
        {"http://lt/gate/check%3Fx", "/gate/check?x"},
        /* An escape Go's url.Parse refuses, or a NUL: no route. */
        {"http://lt/gate/check%", ""}, {"http://lt/gate/check%4", ""}, {"http://lt/gate/%zzcheck", ""},
        {"http://lt/gate/check%00", ""}, {"http://lt/gate/check%4?x=1", ""},
        {"https://lt.test/gate/check?x=1#f", "/gate/check"},
        {"http://lt.test", ""},
        {"http://lt.test?x=/gate/check", ""},
        {"/gate/check", "/gate/check"},
        {"/gate/check?next=http://other/x", "/gate/check"},
        {"lt.test/gate/check", ""},
        {"", ""},
        {NULL, ""},
        {"http://lt.test/", "/"},
    };
    size_t i;
    char small[12];

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[64];

        CHECK_STR(url_path(cases[i].url, buf, sizeof(buf)), cases[i].want);
    }
    /* A path that does not fit is not cut to a prefix that would match. */
    CHECK_STR(url_path("http://lt/gate/check", small, sizeof(small)), "/gate/check");
    CHECK_STR(url_path("http://lt/gate/checkpoint", small, sizeof(small)), "");
}

static void url_origin_canonical_folds_case_and_default_ports(void)
{
    static const struct { const char *url; int base_only; const char *want; } cases[] = {
        {"http://flagger-loadtester.test", 0, "http://flagger-loadtester.test"},
        {"HTTP://Flagger-Loadtester.TEST:80/gate/check", 0, "http://flagger-loadtester.test"},
        {"https://lt.test:443/", 0, "https://lt.test"},
        {"https://lt.test:80/", 0, "https://lt.test:80"},
        {"http://lt.test:8080/gate/close?x=1", 0, "http://lt.test:8080"},
        {"http://[::1]:9090/", 0, "http://[::1]:9090"},
        {"http://10.0.0.7/", 0, "http://10.0.0.7"},
        {"http://lt.test/", 1, "http://lt.test"},
        {"http://lt.test//", 1, "http://lt.test"},
        /* Not origins: no host, userinfo, bad ports, other schemes, a path for a base URL. */
        {"http://lt.test/gate", 1, NULL},
        {"http://lt.test?x", 1, NULL},
        {"http://", 0, NULL},
        {"http://:8080/", 0, NULL},
        {"http://user:pw@lt.test/", 0, NULL},
        {"http://lt.test:0/", 0, NULL},
        {"http://lt.test:65536/", 0, NULL},
        {"http://lt.test:123456/", 0, NULL},
        {"http://lt.test:/", 0, NULL},
        {"http://lt.test:8x/", 0, NULL},
        {"http://[]/", 0, NULL},
        {"http://[zz::1]/", 0, NULL},
        {"ftp://lt.test/", 0, NULL},
        {"lt.test/gate/check", 0, NULL},
        {"/gate/check", 0, NULL},
        {"", 0, NULL},
        {NULL, 0, NULL},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[URL_ORIGIN_MAX];
        int rc = url_origin(cases[i].url, URL_CANONICAL, cases[i].base_only, buf, sizeof(buf));

        if (cases[i].want) {
            CHECK_INT(rc, 0);
            CHECK_STR(buf, cases[i].want);
        } else {
            CHECK_INT(rc, -1);
            CHECK_STR(buf, "");
        }
    }
}

/* New hooks call the loadtester as the user wrote it: a GitOps diff then shows only what was added. */
static void url_origin_as_written_keeps_the_users_spelling(void)
{
    static const struct { const char *url, *want; } cases[] = {
        {"http://flagger-loadtester.test:80/", "http://flagger-loadtester.test:80"},
        {"HTTP://Flagger-Loadtester.TEST/gate/check", "HTTP://Flagger-Loadtester.TEST"},
        {"https://lt.test:8443?x", "https://lt.test:8443"},
        {"http://[::1]:80/", "http://[::1]:80"},
    };
    size_t i;
    char small[10];

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[URL_ORIGIN_MAX];

        CHECK_INT(url_origin(cases[i].url, URL_AS_WRITTEN, 0, buf, sizeof(buf)), 0);
        CHECK_STR(buf, cases[i].want);
    }
    CHECK_INT(url_origin("http://user@lt.test/", URL_AS_WRITTEN, 0, small, sizeof(small)), -1);
    /* Too long for the buffer: refused, never cut. */
    CHECK_INT(url_origin("http://flagger-loadtester.test/", URL_AS_WRITTEN, 0, small, sizeof(small)), -1);
    CHECK_STR(small, "");
}

static void url_parse_gives_host_and_the_port_a_request_goes_to(void)
{
    static const struct { const char *url, *host; int port; } cases[] = {
        {"http://flagger-loadtester.test/", "flagger-loadtester.test", 80},
        {"https://flagger-loadtester.test/", "flagger-loadtester.test", 443},
        {"http://flagger-loadtester.test.svc.cluster.local:8080/gate/check", "flagger-loadtester.test.svc.cluster.local",
         8080},
        {"http://[fd00::1]:81", "[fd00::1]", 81},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct url_parts u;
        char host[256];

        CHECK_INT(url_parse(cases[i].url, &u), 0);
        snprintf(host, sizeof(host), "%.*s", (int)u.host_len, u.host);
        CHECK_STR(host, cases[i].host);
        CHECK_INT(url_port(&u), cases[i].port);
    }
}

/* Messages are logged: userinfo, queries and fragments may carry credentials. */
static void url_redacted_hides_userinfo_query_and_fragment(void)
{
    static const struct { const char *url, *want; } cases[] = {
        {"http://admin:hunter2@lt.test?token=abc", "http://***@lt.test?***"},
        {"http://lt.test/x?token=abc", "http://lt.test/x?***"},
        {"https://a:b@lt.test/#frag", "https://***@lt.test/?***"},
        {"http://lt.test/gate/check", "http://lt.test/gate/check"},
        {"user@lt.test/x", "***@lt.test/x"},
        {"/gate/check?next=http://u:p@x/", "/gate/check?***"},
        {NULL, ""},
    };
    size_t i;
    char buf[64];

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_STR(url_redacted(cases[i].url, buf, sizeof(buf)), cases[i].want);
}

TEST_MAIN("url", TEST(url_path_is_the_decoded_path_the_loadtester_routes),
          TEST(url_origin_canonical_folds_case_and_default_ports), TEST(url_origin_as_written_keeps_the_users_spelling),
          TEST(url_parse_gives_host_and_the_port_a_request_goes_to),
          TEST(url_redacted_hides_userinfo_query_and_fragment))
