/*
 * Reading the gates (and the loadtester's ready pods) of many Canaries, for `status`: each loadtester is
 * found once per gate and its pods counted once per Service (see ops_probe.c).
 *
 * Memory: struct probe borrows its Canary; nothing here allocates what the caller must free.
 */
#ifndef MG_OPS_PROBE_H
#define MG_OPS_PROBE_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "kubectl.h"
#include "loadtester.h"

/* One gate of one Canary. */
struct probe_gate {
    int found;            /* loadtester_of_canary's answer: 0 found, 1 no hook, -1 not a Service */
    struct loadtester lt; /* when found is 0 */
    enum gate_state st;
    char err[700];        /* why st is neither open nor closed, "" otherwise */
};

struct probe {
    const cJSON *canary;
    struct probe_gate gate[2]; /* indexed by enum loadtester_gate */
    int pods;                  /* ready pods of the traffic gate's loadtester, -1 when unknown */
    char pods_err[400];        /* why pods is -1 */
};

/* Read both gates of every Canary and the ready pods of each loadtester (once per Service). probes[i]
 * must have its canary set; the rest is filled. 0, or -1 when out of memory (nothing read). */
int ops_probe(const struct kubectl *k, struct probe *probes, size_t n) __attribute__((warn_unused_result));

#endif
