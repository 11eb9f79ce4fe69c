/* Which Service a loadtester URL names, how the service proxy reaches it, and how many ready pods its
 * EndpointSlices list. */
#include "check.h"
#include "loadtester.h"

static void loadtester_url_names_a_service_in_every_dns_form(void)
{
    static const struct { const char *url, *ns, *svc; int port, https; } cases[] = {
        {"http://flagger-loadtester.test/gate/check", "test", "flagger-loadtester", 80, 0},
        {"http://flagger-loadtester/gate/check", "apps", "flagger-loadtester", 80, 0},
        {"http://flagger-loadtester.test.svc:8080/", "test", "flagger-loadtester", 8080, 0},
        {"http://flagger-loadtester.test.svc.cluster.local/gate/close", "test", "flagger-loadtester", 80, 0},
        {"https://lt.flagger-system.svc.corp.example.internal./rollback/check", "flagger-system", "lt", 443, 1},
        {"HTTP://Flagger-Loadtester.TEST:80/gate/check", "test", "flagger-loadtester", 80, 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct loadtester lt;
        char err[300];

        CHECK_INT(loadtester_from_url(cases[i].url, "apps", &lt, err, sizeof(err)), 0);
        CHECK_STR(lt.namespace_, cases[i].ns);
        CHECK_STR(lt.service, cases[i].svc);
        CHECK_INT(lt.port, cases[i].port);
        CHECK_INT(lt.https, cases[i].https);
    }
}

static void loadtester_url_that_is_no_service_is_a_clear_error(void)
{
    static const struct { const char *url, *says; } cases[] = {
        {"http://10.0.0.7:8080/gate/check", "IP address"},
        {"http://[fd00::7]/gate/check", "IP address"},
        {"http://loadtester.example.com/gate/check", "does not name a Service"},
        {"http://lt.test.svcx.cluster.local/", "does not name a Service"},
        {"http://9lt.test/", "does not name a Service"},       /* a Service name starts with a letter */
        {"http://lt_x.test/", "does not name a Service"},
        {"http://user:pw@lt.test/", "not an http(s) URL"},
        {"ftp://lt.test/", "not an http(s) URL"},
        {"http://a.b.svc.c.d.e.f.g.h/", "does not name a Service"}, /* more labels than a cluster domain has */
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct loadtester lt;
        char err[300] = "";

        CHECK_INT(loadtester_from_url(cases[i].url, "apps", &lt, err, sizeof(err)), -1);
        if (!strstr(err, cases[i].says))
            fprintf(stderr, "  %s: %s\n", cases[i].url, err);
        CHECK(strstr(err, cases[i].says) != NULL);
    }
}

static void loadtester_proxy_path_names_port_and_https(void)
{
    struct loadtester lt;
    char err[300], path[300];

    CHECK_INT(loadtester_from_url("http://flagger-loadtester.test/gate/check", "x", &lt, err, sizeof(err)), 0);
    loadtester_proxy_path(&lt, "/gate/open", path, sizeof(path));
    CHECK_STR(path, "/api/v1/namespaces/test/services/flagger-loadtester:80/proxy/gate/open");
    CHECK_INT(loadtester_from_url("https://lt.ops.svc:8443/", "x", &lt, err, sizeof(err)), 0);
    loadtester_proxy_path(&lt, "/rollback/check", path, sizeof(path));
    CHECK_STR(path, "/api/v1/namespaces/ops/services/https:lt:8443/proxy/rollback/check");
}

static cJSON *canary_with_hooks(const char *hooks)
{
    char text[2048];

    snprintf(text, sizeof(text),
             "{\"metadata\":{\"name\":\"podinfo\",\"namespace\":\"apps\"},\"spec\":{\"analysis\":{\"webhooks\":%s}}}",
             hooks);
    return cJSON_Parse(text);
}

static void loadtester_of_canary_follows_the_hooks_flagger_calls(void)
{
    cJSON *c = canary_with_hooks(
        "[{\"name\":\"load\",\"url\":\"http://other.test/\"},"
        "{\"name\":\"gate-close\",\"type\":\"confirm-traffic-increase\",\"url\":\"http://lt-close.test/gate/close\"},"
        "{\"name\":\"gate-check\",\"type\":\"confirm-traffic-increase\",\"url\":\"http://lt-check.test:9090/gate/check\"},"
        "{\"name\":\"rollback\",\"type\":\"rollback\",\"url\":\"http://lt-rb/rollback/check\"}]");
    cJSON *close_only = canary_with_hooks(
        "[{\"name\":\"gate-close\",\"type\":\"confirm-traffic-increase\",\"url\":\"http://lt-close.test/gate/close\"}]");
    cJSON *none = canary_with_hooks("[]");
    struct loadtester lt;
    char err[300];

    CHECK_INT(loadtester_of_canary(c, LOADTESTER_TRAFFIC, &lt, err, sizeof(err)), 0);
    CHECK_STR(lt.service, "lt-check");
    CHECK_INT(lt.port, 9090);
    CHECK_STR(lt.url, "http://lt-check.test:9090");
    CHECK_INT(loadtester_of_canary(c, LOADTESTER_ROLLBACK, &lt, err, sizeof(err)), 0);
    CHECK_STR(lt.service, "lt-rb");
    CHECK_STR(lt.namespace_, "apps");
    CHECK_INT(loadtester_of_canary(close_only, LOADTESTER_TRAFFIC, &lt, err, sizeof(err)), 0);
    CHECK_STR(lt.service, "lt-close");
    CHECK_INT(loadtester_of_canary(close_only, LOADTESTER_ROLLBACK, &lt, err, sizeof(err)), 1);
    CHECK(strstr(err, "no rollback hook") != NULL);
    CHECK_INT(loadtester_of_canary(none, LOADTESTER_TRAFFIC, &lt, err, sizeof(err)), 1);
    cJSON_Delete(c);
    cJSON_Delete(close_only);
    cJSON_Delete(none);
}

static void loadtester_counts_ready_pods_once_across_slices(void)
{
    cJSON *dual = fixture_json("loadtester/endpointslices-dual-stack.json");
    cJSON *addr = fixture_json("loadtester/endpointslices-address-only.json");
    cJSON *empty = cJSON_Parse("{\"items\":[]}");

    CHECK_INT(loadtester_count_ready(dual), 2);
    CHECK_INT(loadtester_count_ready(addr), 2);
    CHECK_INT(loadtester_count_ready(empty), 0);
    CHECK_INT(loadtester_count_ready(NULL), 0);
    cJSON_Delete(dual);
    cJSON_Delete(addr);
    cJSON_Delete(empty);
}

TEST_MAIN("loadtester", TEST(loadtester_url_names_a_service_in_every_dns_form),
          TEST(loadtester_url_that_is_no_service_is_a_clear_error), TEST(loadtester_proxy_path_names_port_and_https),
          TEST(loadtester_of_canary_follows_the_hooks_flagger_calls), TEST(loadtester_counts_ready_pods_once_across_slices))
