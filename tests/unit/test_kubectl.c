/* What kubectl's stderr means: each fixture is what the real kubectl printed for one failure. */
#include <time.h>

#include "check.h"
#include "kubectl.h"

static void classify_fixture(const char *file, int exit_code, struct kubectl_result *res)
{
    char rel[128];
    size_t len;
    char *text;

    snprintf(rel, sizeof(rel), "kubectl/%s", file);
    text = fixture_text(rel, &len);
    memset(res, 0, sizeof(*res));
    res->err.max = 1 << 20;
    CHECK(buf_append(&res->err, text, len) == 0);
    res->exit_code = exit_code;
    kubectl_classify(res);
    free(text);
}

static void kubectl_errors_are_sorted_by_what_a_person_does_next(void)
{
    static const struct { const char *file; enum kubectl_status status; const char *reason, *message; } cases[] = {
        {"rbac-forbidden.txt", KUBECTL_FORBIDDEN, "Forbidden",
         "services \"flagger-loadtester:80\" is forbidden: User \"bob\" cannot create resource \"services/proxy\" in "
         "API group \"\" in the namespace \"test\""},
        {"loadtester-forbidden.txt", KUBECTL_FORBIDDEN, "Forbidden", "Forbidden"},
        {"noise-then-forbidden.txt", KUBECTL_FORBIDDEN, "Forbidden", "Forbidden"},
        {"proxy-unreachable.txt", KUBECTL_UNAVAILABLE, "ServiceUnavailable",
         "error trying to reach service: dial tcp 10.0.0.1:80: connect: connection refused"},
        {"not-found.txt", KUBECTL_NOT_FOUND, "NotFound", "canaries.flagger.app \"x\" not found"},
        {"unauthorized.txt", KUBECTL_UNAUTHORIZED, "", "You must be logged in to the server (Unauthorized)"},
        {"refused.txt", KUBECTL_UNREACHABLE, "",
         "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?"},
        {"no-such-host.txt", KUBECTL_UNREACHABLE, "",
         "Unable to connect to the server: dial tcp: lookup no-such-host.invalid on 10.255.255.53:53: no such host"},
        {"no-context.txt", KUBECTL_FAILED, "", "context \"nope\" does not exist"},
        {"internal-error.txt", KUBECTL_HTTP_ERROR, "InternalError",
         "an error on the server (\"<html>oops</html>\") has prevented the request from succeeding"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct kubectl_result res;

        classify_fixture(cases[i].file, 1, &res);
        if (res.status != cases[i].status)
            fprintf(stderr, "  %s: status %d\n", cases[i].file, res.status);
        CHECK_INT(res.status, cases[i].status);
        CHECK_STR(res.reason, cases[i].reason);
        CHECK_STR(res.message, cases[i].message);
        kubectl_result_free(&res);
    }
}

static void kubectl_exit_zero_is_ok_whatever_stderr_says(void)
{
    struct kubectl_result res;

    classify_fixture("noise-then-forbidden.txt", 0, &res);
    CHECK_INT(res.status, KUBECTL_OK);
    CHECK_STR(res.message, "");
    kubectl_result_free(&res);
}

static void kubectl_describe_names_the_refused_verb_and_resource(void)
{
    struct kubectl_result res;
    char buf[600];

    classify_fixture("rbac-forbidden.txt", 1, &res);
    kubectl_describe(&res, "create", "services/proxy", "on Service test/flagger-loadtester", buf, sizeof(buf));
    CHECK_STR(buf, "RBAC refused to create services/proxy on Service test/flagger-loadtester: services "
                   "\"flagger-loadtester:80\" is forbidden: User \"bob\" cannot create resource \"services/proxy\" "
                   "in API group \"\" in the namespace \"test\"");
    kubectl_result_free(&res);
    classify_fixture("refused.txt", 1, &res);
    kubectl_describe(&res, "get", "canaries.flagger.app", NULL, buf, sizeof(buf));
    CHECK(strstr(buf, "cannot reach the API server") != NULL);
    kubectl_result_free(&res);
}

static void kubectl_missing_binary_is_reported_as_missing(void)
{
    const char *args[] = {"version", "--client", NULL};
    struct kubectl_result res;
    char buf[600];

    setenv("MANUAL_GATE_KUBECTL", "/nonexistent/kubectl", 1);
    CHECK_INT(kubectl_run(NULL, args, NULL, 5, &res), -1);
    CHECK_INT(res.status, KUBECTL_MISSING);
    kubectl_describe(&res, NULL, NULL, NULL, buf, sizeof(buf));
    CHECK(strstr(buf, "kubectl is not installed") != NULL);
    kubectl_result_free(&res);
    unsetenv("MANUAL_GATE_KUBECTL");
}

#define FAKE_KUBECTL "tests/fixtures/kubectl/fake-kubectl.sh"

static void kubectl_run_passes_flags_feeds_stdin_and_captures_both_outputs(void)
{
    const struct kubectl k = {"/tmp/kc.yaml", "prod"};
    const char *args[] = {"create", "--raw", "/x", "-f", "-", NULL};
    struct kubectl_result res;

    setenv("MANUAL_GATE_KUBECTL", FAKE_KUBECTL, 1);
    unsetenv("FAKE_KUBECTL");
    CHECK_INT(kubectl_run(&k, args, "{\"name\":\"podinfo\"}", 40, &res), -1);
    CHECK_STR(res.out.data, "args: --kubeconfig /tmp/kc.yaml --context prod --request-timeout=30s create --raw /x -f -\n"
                            "{\"name\":\"podinfo\"}");
    CHECK_INT(res.exit_code, 1);
    CHECK_INT(res.status, KUBECTL_NOT_FOUND);
    kubectl_result_free(&res);
    unsetenv("MANUAL_GATE_KUBECTL");
}

static void kubectl_run_kills_kubectl_at_the_deadline(void)
{
    const char *args[] = {"get", "--raw", "/", NULL};
    struct kubectl_result res;
    time_t start = time(NULL);

    setenv("MANUAL_GATE_KUBECTL", FAKE_KUBECTL, 1);
    setenv("FAKE_KUBECTL", "hang", 1);
    CHECK_INT(kubectl_run(NULL, args, NULL, 1, &res), -1);
    CHECK_INT(res.status, KUBECTL_TIMEOUT);
    CHECK(time(NULL) - start <= 3);
    kubectl_result_free(&res);
    unsetenv("FAKE_KUBECTL");
    unsetenv("MANUAL_GATE_KUBECTL");
}

TEST_MAIN("kubectl", TEST(kubectl_errors_are_sorted_by_what_a_person_does_next),
          TEST(kubectl_exit_zero_is_ok_whatever_stderr_says), TEST(kubectl_describe_names_the_refused_verb_and_resource),
          TEST(kubectl_missing_binary_is_reported_as_missing),
          TEST(kubectl_run_passes_flags_feeds_stdin_and_captures_both_outputs), TEST(kubectl_run_kills_kubectl_at_the_deadline))
