/*
 * In-process benchmark of the hot path, without the network: (1) a Canary lookup with 10 and with
 * 10,000 Canaries in the cache, which must cost the same; (2) decode + validate + encode of a ~9 KB
 * Deployment review against that cache. Prints one line per measurement and the ratios.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "cache.h"
#include "admission.h"
#include "arena.h"
#include "policy.h"
#include "review.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static cJSON *canary_list(int n)
{
    cJSON *list = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(list, "items");
    char buf[1024];
    int i;

    cJSON_AddStringToObject(list, "kind", "CanaryList");
    cJSON_AddItemToObject(list, "metadata", cJSON_Parse("{\"resourceVersion\":\"1\"}"));
    for (i = 0; i < n; i++) {
        snprintf(buf, sizeof(buf),
                 "{\"apiVersion\":\"flagger.app/v1beta1\",\"kind\":\"Canary\",\"metadata\":{\"name\":\"app-%d\","
                 "\"namespace\":\"ns-%d\",\"resourceVersion\":\"%d\",\"labels\":{\"manual-gate.io/enabled\":\"true\"}},"
                 "\"spec\":{\"targetRef\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"app-%d\"},"
                 "\"analysis\":{\"interval\":\"1m\",\"threshold\":14400}},\"status\":{\"phase\":\"%s\","
                 "\"canaryWeight\":10,\"trackedConfigs\":{\"configmap/app-%d-config\":\"abc\"}}}",
                 i, i % 100, i + 2, i, i % 3 ? "Succeeded" : "Progressing", i);
        cJSON_AddItemToArray(items, cJSON_Parse(buf));
    }
    return list;
}

/* The measured loop, a function of its own so callgrind can count just its instructions
 * (--toggle-collect=lookup_loop). Looks up targets app-0 .. app-(keys-1) of namespace ns-0 .. ns-99. */
__attribute__((noinline)) long lookup_loop(const struct canary_lookup *lk, int keys, long iters);
__attribute__((noinline)) long lookup_loop(const struct canary_lookup *lk, int keys, long iters)
{
    struct canary_info info;
    char ns[32], name[32];
    long i, found = 0;

    for (i = 0; i < iters; i++) {
        int k = (int)((i * 7919) % keys);
        snprintf(ns, sizeof(ns), "ns-%d", k % 100);
        snprintf(name, sizeof(name), "app-%d", k);
        found += lk->by_target(lk->ctx, ns, "Deployment", name, &info) == CANARY_LOOKUP_FOUND;
    }
    return found;
}

/* ns per by_target lookup in a cache of n Canaries. The same `keys` targets are looked up whatever n
 * is, so only the size of the index differs and not how much memory the lookups touch. */
static double bench_lookup(int n, int keys, long iters)
{
    struct cache *c = cache_new(60);
    struct canary_lookup lk;
    cJSON *list = canary_list(n);
    double t0, t;
    long found;

    cache_apply_list(c, list);
    cJSON_Delete(list);
    cache_lookup(c, &lk);
    t0 = now();
    found = lookup_loop(&lk, keys, iters);
    t = now() - t0;
    cache_stop(c);
    if (found != iters)
        fprintf(stderr, "lookup benchmark found %ld of %ld: broken\n", found, iters);
    return t / (double)iters * 1e9;
}

/* Each review in its own arena, as the server runs them (arena_install done), or all through malloc. */
static int use_arena;
/* Only parse each review, as the floor does. */
static int parse_only;

/* The measured loop of bench_review (callgrind: --toggle-collect=review_loop): iters reviews of body,
 * each timed into us[] when us is not NULL. Returns how many were denied. */
__attribute__((noinline)) long review_loop(const char *body, size_t len, const struct policy_config *cfg,
                                           const struct canary_lookup *lk, long iters, double *us);
__attribute__((noinline)) long review_loop(const char *body, size_t len, const struct policy_config *cfg,
                                           const struct canary_lookup *lk, long iters, double *us)
{
    long i, denied = 0;
    double t0 = 0;

    for (i = 0; i < iters; i++) {
        struct admission_result res;

        if (us)
            t0 = now();
        if (use_arena)
            arena_begin();
        admission_handle(ADMISSION_VALIDATE, body, len, cfg, lk, &res);
        denied += res.outcome == ADMISSION_DENIED;
        admission_result_free(&res);
        if (use_arena)
            arena_end();
        if (us)
            us[i] = (now() - t0) * 1e6;
    }
    return denied;
}

/* The floor's work in process (tests/bench/floor.c): one cJSON parse of the body, through malloc, and
 * the tree freed (callgrind: --toggle-collect=parse_loop). */
__attribute__((noinline)) long parse_loop(const char *body, size_t len, long iters);
__attribute__((noinline)) long parse_loop(const char *body, size_t len, long iters)
{
    long i, ok = 0;

    for (i = 0; i < iters; i++) {
        cJSON *root = cJSON_ParseWithLength(body, len);

        ok += root != NULL;
        cJSON_Delete(root);
    }
    return ok;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* us per decode + validate + encode of a Deployment review whose template changed (envs environment
 * variables: 40 make 9 KB): the mean, and the p99 of each review timed alone in *p99. */
static double bench_review(long iters, int envs, size_t *body_len, double *p99)
{
    struct cache *c = cache_new(60);
    struct canary_lookup lk;
    struct policy_config cfg = {.loadtester_url = "http://loadtester.test"};
    cJSON *list = canary_list(10000), *req, *root, *env;
    char *body, blob[160];
    double t0, t, *us = calloc((size_t)iters, sizeof(double));
    long denied;
    int k;

    cache_apply_list(c, list);
    cJSON_Delete(list);
    cache_lookup(c, &lk);
    /* A realistic Deployment: env vars and labels around the template. */
    root = cJSON_Parse("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"app-0\","
                       "\"namespace\":\"ns-0\",\"labels\":{}},\"spec\":{\"replicas\":3,\"template\":{\"metadata\":"
                       "{\"labels\":{\"app\":\"app-0\"}},\"spec\":{\"containers\":[{\"name\":\"app\","
                       "\"image\":\"app:1\",\"env\":[]}]}}}}");
    env = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
                                  cJSON_GetObjectItem(root, "spec"), "template"), "spec"), "containers"), 0), "env");
    for (k = 0; k < envs; k++) {
        cJSON *e = cJSON_CreateObject();
        snprintf(blob, sizeof(blob), "ENV_%d", k);
        cJSON_AddStringToObject(e, "name", blob);
        memset(blob, 'v', 77);
        blob[77] = '\0';
        cJSON_AddStringToObject(e, "value", blob);
        cJSON_AddItemToArray(env, e);
    }
    req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "apiVersion", "admission.k8s.io/v1");
    cJSON_AddStringToObject(req, "kind", "AdmissionReview");
    {
        cJSON *r = cJSON_AddObjectToObject(req, "request"), *old = cJSON_Duplicate(root, 1);
        cJSON_AddStringToObject(r, "uid", "bench");
        cJSON_AddItemToObject(r, "kind", cJSON_Parse("{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"}"));
        cJSON_AddStringToObject(r, "namespace", "ns-0");
        cJSON_AddStringToObject(r, "name", "app-0");
        cJSON_AddStringToObject(r, "operation", "UPDATE");
        cJSON_ReplaceItemInObject(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
                                      cJSON_GetObjectItem(old, "spec"), "template"), "spec"), "containers"), 0),
                                  "image", cJSON_CreateString("app:0"));
        cJSON_AddItemToObject(r, "object", root);
        cJSON_AddItemToObject(r, "oldObject", old);
    }
    body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    *body_len = strlen(body);
    if (parse_only) {
        parse_loop(body, *body_len, iters);
        free(us);
        free(body);
        cache_stop(c);
        return 0;
    }
    t0 = now();
    denied = review_loop(body, *body_len, &cfg, &lk, iters, NULL);
    t = now() - t0;
    if (denied != iters)
        fprintf(stderr, "review benchmark: %ld of %ld denied, expected all: broken\n", denied, iters);
    if (p99 && us) {
        review_loop(body, *body_len, &cfg, &lk, iters, us);
        qsort(us, (size_t)iters, sizeof(double), by_value);
        *p99 = us[iters * 99 / 100];
    }
    free(us);
    free(body);
    cache_stop(c);
    return t / (double)iters * 1e6;
}

/* ms to validate one Deployment review whose template carries `labels` labels (listed in reverse order
 * in the old object, so the comparison cannot walk both in step) and whose last label changed. */
static double bench_many_labels(int labels, size_t *body_len)
{
    struct cache *c = cache_new(60);
    struct canary_lookup lk;
    struct policy_config cfg = {.loadtester_url = "http://loadtester.test"};
    cJSON *list = canary_list(10), *env, *obj, *old, *lo, *ln;
    struct admission_result res;
    enum admission_outcome outcome;
    char key[32], *body;
    double t0, t;
    int i;

    cache_apply_list(c, list);
    cJSON_Delete(list);
    cache_lookup(c, &lk);
    obj = cJSON_Parse("{\"metadata\":{\"name\":\"app-0\",\"namespace\":\"ns-0\"},\"spec\":{\"template\":"
                      "{\"metadata\":{\"labels\":{}},\"spec\":{}}}}");
    old = cJSON_Duplicate(obj, 1);
    ln = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(obj, "spec"), "template"),
                                                 "metadata"), "labels");
    lo = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(old, "spec"), "template"),
                                                 "metadata"), "labels");
    for (i = 0; i < labels; i++) {
        snprintf(key, sizeof(key), "label-%d", i);
        cJSON_AddStringToObject(ln, key, i == labels - 1 ? "new" : "v");
        snprintf(key, sizeof(key), "label-%d", labels - 1 - i);
        cJSON_AddStringToObject(lo, key, "v");
    }
    env = cJSON_CreateObject();
    cJSON_AddStringToObject(env, "apiVersion", "admission.k8s.io/v1");
    cJSON_AddStringToObject(env, "kind", "AdmissionReview");
    {
        cJSON *r = cJSON_AddObjectToObject(env, "request");
        cJSON_AddStringToObject(r, "uid", "bench");
        cJSON_AddItemToObject(r, "kind", cJSON_Parse("{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"}"));
        cJSON_AddStringToObject(r, "namespace", "ns-0");
        cJSON_AddStringToObject(r, "name", "app-0");
        cJSON_AddStringToObject(r, "operation", "UPDATE");
        cJSON_AddItemToObject(r, "object", obj);
        cJSON_AddItemToObject(r, "oldObject", old);
    }
    body = cJSON_PrintUnformatted(env);
    cJSON_Delete(env);
    *body_len = strlen(body);
    t0 = now();
    if (use_arena)
        arena_begin();
    admission_handle(ADMISSION_VALIDATE, body, *body_len, &cfg, &lk, &res);
    outcome = res.outcome;
    admission_result_free(&res);
    if (use_arena)
        arena_end();
    t = now() - t0;
    if (outcome != ADMISSION_DENIED)
        fprintf(stderr, "many-labels review was not denied (%s): broken\n", admission_outcome_name(outcome));
    free(body);
    cache_stop(c);
    return t * 1e3;
}

/* Loading a CanaryList as the API source does (text -> cJSON tree -> index, the tree freed), timed; and
 * the heap the index keeps once the text and the tree are gone (mallinfo2: bytes in use). */
static int bench_load(const char *path)
{
    struct buf text = BUF_INIT((size_t)1 << 30);
    struct cache *c = cache_new(60);
    struct cache_stats st;
    size_t before;
    double t0, t;
    cJSON *list;

    if (buf_read_file(&text, path) != 0) {
        fprintf(stderr, "cannot read %s\n", path);
        return 1;
    }
    before = mallinfo2().uordblks;
    t0 = now();
    list = cJSON_ParseWithLength(text.data, text.len);
    if (!list || cache_apply_list(c, list) != 0) {
        fprintf(stderr, "%s is not a CanaryList\n", path);
        return 1;
    }
    cJSON_Delete(list);
    t = now() - t0;
    cache_stats(c, &st);
    printf("cache load of %ld Canaries (%zu bytes of JSON: parse, index, free the tree): %.3f s; "
           "the index holds %.1f MiB of heap (%.0f bytes a Canary)\n", st.canaries, text.len, t,
           (double)(mallinfo2().uordblks - before) / 1048576.0, (double)(mallinfo2().uordblks - before) / (double)st.canaries);
    buf_free(&text);
    cache_stop(c);
    return 0;
}

int main(int argc, char **argv)
{
    double small, large, spread, review_us, p99 = 0;
    size_t body_len;

    /* `bench_core lookup N ITERS`: only the lookups, for run.sh to count instructions under callgrind. */
    if (argc == 4 && strcmp(argv[1], "lookup") == 0) {
        bench_lookup(atoi(argv[2]), 10, atol(argv[3]));
        return 0;
    }
    /* `bench_core review ITERS malloc|arena|parse [ENVS]`: only the reviews, for run.sh to count instructions
     * under callgrind, each in an arena as the server runs them, or through malloc; or only parsed. */
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "review") == 0) {
        parse_only = strcmp(argv[3], "parse") == 0;
        if ((use_arena = strcmp(argv[3], "arena") == 0))
            arena_install();
        bench_review(atol(argv[2]), argc == 5 ? atoi(argv[4]) : 40, &body_len, NULL);
        return 0;
    }
    /* `bench_core load FILE`: a CanaryList loaded into the cache, timed, and what the index keeps. */
    if (argc == 3 && strcmp(argv[1], "load") == 0)
        return bench_load(argv[2]);
    small = bench_lookup(10, 10, 2000000);
    large = bench_lookup(10000, 10, 2000000);
    spread = bench_lookup(10000, 10000, 2000000);
    printf("lookup of the same 10 targets, 10 Canaries cached:      %7.1f ns\n", small);
    printf("lookup of the same 10 targets, 10,000 Canaries cached:  %7.1f ns   ratio %.2f\n", large, large / small);
    printf("lookup spread over all 10,000 targets (CPU cache misses): %5.1f ns   ratio %.2f\n", spread,
           spread / small);
    review_us = bench_review(20000, 40, &body_len, &p99);
    printf("validate review (%zu bytes, decode+policy+encode, 10,000 Canaries), every node through malloc: %.1f us, "
           "p99 %.1f us\n", body_len, review_us, p99);
    /* From here on as the server runs: each review in its own arena. */
    arena_install();
    use_arena = 1;
    {
        double arena_us = bench_review(20000, 40, &body_len, &p99);

        printf("the same, each review in an arena (as served): %.1f us, p99 %.1f us, %.2fx the malloc time\n",
               arena_us, p99, arena_us / review_us);
        review_us = arena_us;
    }
    {
        size_t mib_len;
        double mib_us = bench_review(200, 4600, &mib_len, &p99);

        printf("validate review of %zu bytes, in an arena: %.2f ms, p99 %.2f ms\n", mib_len, mib_us / 1e3, p99 / 1e3);
    }
    {
        size_t big_len;
        double big_ms = bench_many_labels(60000, &big_len);
        printf("validate review with 60,000 template labels in another order (%zu bytes): %.1f ms, "
               "%.0fx the small review for %.0fx the bytes\n", big_len, big_ms, big_ms * 1e3 / review_us,
               (double)big_len / (double)body_len);
    }
    return 0;
}
