/* The health and metrics answers both listeners give (server_probe_answer). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "server_probe.h"

static atomic_int draining;

static void paths_are_matched_exactly_and_queries_ignored(void)
{
    struct server_probe_state st = {NULL, NULL, &draining};
    struct server_probe_answer a;
    static const char *const other[] = {"/mutate", "/validate", "/", "/healthz/", "/healthzz", "/health",
                                        "/metrics.txt", "", "/readyz#x"};
    size_t i;

    for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        memset(&a, 0xa5, sizeof(a));
        CHECK_INT(server_probe_answer(other[i], &st, &a), -1);
        CHECK_INT(server_probe_answer(other[i], &st, NULL), -1);
    }
    CHECK_INT(server_probe_answer("/healthz?verbose=1", &st, NULL), 0);
    CHECK_INT(server_probe_answer("/healthz?verbose=1", &st, &a), 0);
    CHECK_INT(a.status, 200);
    CHECK_STR(a.type, "text/plain; charset=utf-8");
    CHECK_STR(a.body, "ok\n");
    CHECK_INT(a.len, 3);
    free(a.body);
}

static void readyz_follows_the_cache_and_the_shutdown(void)
{
    struct server_probe_state st = {NULL, NULL, &draining};
    struct server_probe_answer a;

    /* No cache (none in sync): not ready. */
    CHECK_INT(server_probe_answer("/readyz", &st, &a), 0);
    CHECK_INT(a.status, 503);
    CHECK_STR(a.body, "Canary cache not in sync\n");
    free(a.body);
    atomic_store(&draining, 1);
    CHECK_INT(server_probe_answer("/readyz", &st, &a), 0);
    CHECK_INT(a.status, 503);
    CHECK_STR(a.body, "shutting down\n");
    CHECK_INT(a.len, strlen("shutting down\n"));
    free(a.body);
    /* Liveness does not follow the shutdown. */
    CHECK_INT(server_probe_answer("/healthz", &st, &a), 0);
    CHECK_INT(a.status, 200);
    free(a.body);
    atomic_store(&draining, 0);
}

static void metrics_are_the_exposition_format(void)
{
    struct server_probe_state st = {NULL, NULL, &draining};
    struct server_probe_answer a;

    CHECK_INT(server_probe_answer("/metrics", &st, &a), 0);
    CHECK_INT(a.status, 200);
    CHECK_STR(a.type, "text/plain; version=0.0.4; charset=utf-8");
    CHECK(a.body != NULL);
    CHECK(a.body && strstr(a.body, "manual_gate_build_info") != NULL);
    CHECK_INT(a.len, a.body ? strlen(a.body) : 0);
    free(a.body);
}

TEST_MAIN("server_probe",
          TEST(paths_are_matched_exactly_and_queries_ignored),
          TEST(readyz_follows_the_cache_and_the_shutdown),
          TEST(metrics_are_the_exposition_format))
