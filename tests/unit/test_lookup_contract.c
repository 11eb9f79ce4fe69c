/*
 * One contract, two implementations: the fake lookup the policy tests use (fake_lookup.h) and the real
 * index behind the cache answer every query of every scene the same, and as the scene says. So a policy
 * test that passes against the fake says something about production.
 */
#include "check.h"
#include "cache.h"
#include "fake_lookup.h"

struct member {
    const char *ns, *name, *kind, *target, *phase;
    int weight, gated;
    const char *tracked; /* one trackedConfigs key, or NULL */
};

struct query {
    char what; /* 't' by_target (a = kind, b = name), 'c' by_config (a = ref), 'r' releases of ns (NULL: all) */
    const char *ns, *a, *b;
    int rc;           /* CANARY_LOOKUP_FOUND / CANARY_LOOKUP_NONE, or the count for releases */
    const char *name; /* the Canary answered (the first, for releases) */
};

struct scene {
    const char *title;
    struct member members[FAKE_MAX];
    struct query queries[8];
};

static const struct scene scenes[] = {
    {"the gated Canary in the costliest state wins a shared target, in any order",
     {{"test", "plain", "Deployment", "app", "Progressing", 10, 0, "configmap/shared"},
      {"test", "done", "Deployment", "app", "Succeeded", 0, 1, "configmap/shared"},
      {"test", "live", "Deployment", "app", "Promoting", 50, 1, NULL},
      {"test", "restarting", "Deployment", "app", "Progressing", 10, 1, "configmap/shared"}},
     {{'t', "test", "Deployment", "app", CANARY_LOOKUP_FOUND, "live"},
      {'c', "test", "configmap/shared", NULL, CANARY_LOOKUP_FOUND, "restarting"},
      {'r', NULL, NULL, NULL, 2, "test/live"},
      {'r', "test", NULL, NULL, 2, "test/live"}}},
    {"equal ranks: the first to arrive",
     {{"test", "first", "Deployment", "app", "Progressing", 10, 1, NULL},
      {"test", "second", "Deployment", "app", "WaitingPromotion", 0, 1, NULL}},
     {{'t', "test", "Deployment", "app", CANARY_LOOKUP_FOUND, "first"}}},
    {"kind, name and namespace must all match",
     {{"test", "agent", "DaemonSet", "node-agent", "Progressing", 20, 1, "secret/token"},
      {"prod", "api", "Deployment", "api", "Progressing", 20, 1, NULL}},
     {{'t', "test", "DaemonSet", "node-agent", CANARY_LOOKUP_FOUND, "agent"},
      {'t', "test", "Deployment", "node-agent", CANARY_LOOKUP_NONE, NULL},
      {'t', "test", "Deployment", "api", CANARY_LOOKUP_NONE, NULL},
      {'c', "test", "secret/token", NULL, CANARY_LOOKUP_FOUND, "agent"},
      {'c', "test", "configmap/token", NULL, CANARY_LOOKUP_NONE, NULL},
      {'c', "prod", "secret/token", NULL, CANARY_LOOKUP_NONE, NULL},
      {'r', "prod", NULL, NULL, 1, "prod/api"},
      {'r', "other", NULL, NULL, 0, NULL}}},
    {"releases: only gated ones a new revision would lose, sorted",
     {{"b", "z", "Deployment", "z", "Progressing", 10, 1, NULL},
      {"a", "y", "Deployment", "y", "Failed", 100, 1, NULL},
      {"a", "x", "Deployment", "x", "Progressing", 0, 1, NULL},
      {"a", "w", "Deployment", "w", "Finalising", 0, 1, NULL},
      {"a", "v", "Deployment", "v", "Progressing", 30, 0, NULL}},
     {{'r', NULL, NULL, NULL, 2, "a/y"}, {'r', "b", NULL, NULL, 1, "b/z"}}},
};

static cJSON *member_object(const struct member *m)
{
    char text[1024];

    snprintf(text, sizeof(text),
             "{\"apiVersion\":\"flagger.app/v1beta1\",\"kind\":\"Canary\",\"metadata\":{\"name\":\"%s\",\"namespace\":"
             "\"%s\"},\"spec\":{\"targetRef\":{\"kind\":\"%s\",\"name\":\"%s\"},\"analysis\":{\"webhooks\":[%s]}},"
             "\"status\":{\"phase\":\"%s\",\"canaryWeight\":%d,\"trackedConfigs\":{%s%s%s}}}",
             m->name, m->ns, m->kind, m->target,
             m->gated ? "{\"name\":\"g\",\"type\":\"confirm-traffic-increase\",\"url\":\"http://lt/gate/check\"}" : "",
             m->phase, m->weight, m->tracked ? "\"" : "", m->tracked ? m->tracked : "", m->tracked ? "\":\"x\"" : "");
    return cJSON_Parse(text);
}

/* One query against one lookup: its rc, and the name answered ("ns/name" for releases). */
static int ask(const struct canary_lookup *l, const struct query *q, char *name, size_t len)
{
    struct canary_info info[4];
    int rc;

    memset(info, 0, sizeof(info));
    if (q->what == 't')
        rc = l->by_target(l->ctx, q->ns, q->a, q->b, &info[0]);
    else if (q->what == 'c')
        rc = l->by_config(l->ctx, q->ns, q->a, &info[0]);
    else
        rc = l->releases(l->ctx, q->ns, info, 4);
    if (q->what == 'r')
        snprintf(name, len, "%s/%s", info[0].namespace_, info[0].name);
    else
        snprintf(name, len, "%s", info[0].name);
    return rc;
}

static void run_scene(const struct scene *s)
{
    struct fake_lookup fake = {{NULL}, 0, 0};
    struct cache *c = cache_new(60);
    struct canary_lookup lf, lc;
    cJSON *objects[FAKE_MAX] = {NULL}, *items = cJSON_CreateArray();
    int i;

    for (i = 0; i < FAKE_MAX && s->members[i].ns; i++) {
        objects[i] = member_object(&s->members[i]);
        fake.canaries[fake.n++] = objects[i];
        cJSON_AddItemToArray(items, cJSON_Duplicate(objects[i], 1));
    }
    CHECK_INT(cache_apply_list(c, items), 0);
    lf = fake_lookup_of(&fake);
    cache_lookup(c, &lc);
    for (i = 0; i < 8 && s->queries[i].what; i++) {
        const struct query *q = &s->queries[i];
        char nf[400], nc[400];
        int rf = ask(&lf, q, nf, sizeof(nf)), rcache = ask(&lc, q, nc, sizeof(nc));

        if (rf != q->rc || rcache != q->rc || (q->name && (strcmp(nf, q->name) || strcmp(nc, q->name))))
            fprintf(stderr, "  %s, query %d: fake %d %s, cache %d %s, want %d %s\n", s->title, i, rf, nf, rcache, nc,
                    q->rc, q->name ? q->name : "");
        CHECK_INT(rf, q->rc);
        CHECK_INT(rcache, q->rc);
        if (q->name) {
            CHECK_STR(nf, q->name);
            CHECK_STR(nc, q->name);
        }
    }
    cJSON_Delete(items);
    for (i = 0; i < FAKE_MAX; i++)
        cJSON_Delete(objects[i]);
    cache_stop(c);
}

static void fake_and_index_answer_every_scene_alike(void)
{
    size_t i;

    for (i = 0; i < sizeof(scenes) / sizeof(scenes[0]); i++)
        run_scene(&scenes[i]);
}

/* The first scene in every arrival order: the answer does not depend on the order (ranks differ). */
static void the_answer_does_not_depend_on_arrival_order_when_ranks_differ(void)
{
    struct scene s = scenes[0];
    struct member m[4];
    int perm, i;

    memcpy(m, s.members, sizeof(m));
    for (perm = 0; perm < 24; perm++) {
        int used = 0, k = perm;

        for (i = 0; i < 4; i++) {
            int pick = k % (4 - i), j;

            k /= 4 - i;
            for (j = 0; j < 4; j++)
                if (!(used & (1 << j)) && pick-- == 0)
                    break;
            used |= 1 << j;
            s.members[i] = m[j];
        }
        run_scene(&s);
    }
}

/* Never synced: both answer unknown. */
static void both_answer_unknown_before_a_list(void)
{
    struct fake_lookup fake = {{NULL}, 0, 1};
    struct cache *c = cache_new(60);
    struct canary_lookup lf = fake_lookup_of(&fake), lc;
    struct canary_info info;

    cache_lookup(c, &lc);
    CHECK_INT(lf.by_target(lf.ctx, "test", "Deployment", "app", &info), CANARY_LOOKUP_UNKNOWN);
    CHECK_INT(lc.by_target(lc.ctx, "test", "Deployment", "app", &info), CANARY_LOOKUP_UNKNOWN);
    CHECK_INT(lf.by_config(lf.ctx, "test", "configmap/x", &info), CANARY_LOOKUP_UNKNOWN);
    CHECK_INT(lc.by_config(lc.ctx, "test", "configmap/x", &info), CANARY_LOOKUP_UNKNOWN);
    CHECK_INT(lf.releases(lf.ctx, NULL, &info, 1), CANARY_LOOKUP_UNKNOWN);
    CHECK_INT(lc.releases(lc.ctx, NULL, &info, 1), CANARY_LOOKUP_UNKNOWN);
    cache_stop(c);
}

TEST_MAIN("lookup_contract", TEST(fake_and_index_answer_every_scene_alike),
          TEST(the_answer_does_not_depend_on_arrival_order_when_ranks_differ), TEST(both_answer_unknown_before_a_list))
