/*
 * The gate reads of `status`: a status of twenty Canaries is forty checks through the service proxy plus
 * one EndpointSlice list per loadtester Service (counted once, however many Canaries share it), each a
 * kubectl process. They run one after the other: a kubectl call costs about 170 ms of CPU (measured with
 * getrusage over a status of 20 Canaries: 7 s of CPU for 42 calls), most of it kubectl starting, so on
 * the 2-core machine the tests run on, four at a time took as long as one at a time (6.4 s against 6.1 s,
 * median of four runs each).
 */
#include "ops_probe.h"

#include <stdlib.h>
#include <string.h>

#include "canary.h"
#include "obj.h"
#include "ops.h"

struct probe_run {
    const struct kubectl *k;
    struct probe *probes;
    size_t *pod_owner; /* for each probe: the probe whose loadtester's pods are counted for it */
};

/* Gate i % 2 of probe i / 2. */
static void check_gate(struct probe_run *r, size_t i)
{
    struct probe *p = &r->probes[i / 2];
    struct probe_gate *g = &p->gate[i % 2];
    const char *path = i % 2 == LOADTESTER_ROLLBACK ? CANARY_PATH_ROLLBACK_CHECK : CANARY_PATH_GATE_CHECK;

    /* After Ctrl-C the rest is not worth the wait. */
    if (g->found == 0 && !ops_interrupted())
        g->st = loadtester_check(r->k, &g->lt, path, obj_name(p->canary), obj_namespace(p->canary), g->err,
                                 sizeof(g->err));
}

static void count_pods(struct probe_run *r, size_t i)
{
    struct probe *p = &r->probes[i];

    if (r->pod_owner[i] == i && p->gate[LOADTESTER_TRAFFIC].found == 0 && !ops_interrupted())
        p->pods = loadtester_ready_pods(r->k, &p->gate[LOADTESTER_TRAFFIC].lt, p->pods_err, sizeof(p->pods_err));
}

/* Find each gate's loadtester (no I/O), and which probe counts the pods of each loadtester. */
static void resolve(struct probe *probes, size_t n, size_t *owner)
{
    size_t i, j, w;
    char a[160], b[160];

    for (i = 0; i < n; i++) {
        for (w = 0; w < 2; w++) {
            struct probe_gate *g = &probes[i].gate[w];

            g->found = loadtester_of_canary(probes[i].canary, (enum loadtester_gate)w, &g->lt, g->err, sizeof(g->err));
            g->st = g->found > 0 ? GATE_NO_HOOK : GATE_UNREACHABLE;
            if (g->found > 0)
                g->err[0] = '\0';
        }
        probes[i].pods = -1;
        owner[i] = i;
        if (probes[i].gate[LOADTESTER_TRAFFIC].found != 0)
            continue;
        loadtester_name(&probes[i].gate[LOADTESTER_TRAFFIC].lt, a, sizeof(a));
        for (j = 0; j < i; j++)
            if (probes[j].gate[LOADTESTER_TRAFFIC].found == 0 &&
                strcmp(a, loadtester_name(&probes[j].gate[LOADTESTER_TRAFFIC].lt, b, sizeof(b))) == 0) {
                owner[i] = owner[j];
                break;
            }
    }
}

int ops_probe(const struct kubectl *k, struct probe *probes, size_t n)
{
    struct probe_run r = {k, probes, calloc(n ? n : 1, sizeof(size_t))};
    size_t i;

    if (!r.pod_owner)
        return -1;
    resolve(probes, n, r.pod_owner);
    for (i = 0; i < 2 * n; i++)
        check_gate(&r, i);
    for (i = 0; i < n; i++)
        count_pods(&r, i);
    for (i = 0; i < n; i++)
        if (r.pod_owner[i] != i) {
            probes[i].pods = probes[r.pod_owner[i]].pods;
            memcpy(probes[i].pods_err, probes[r.pod_owner[i]].pods_err, sizeof(probes[i].pods_err));
        }
    free(r.pod_owner);
    return 0;
}
