/*
 * `manual-gate gate open|close` and `manual-gate rollback open|close`: act on a Canary's gates at its
 * loadtester through the API server's service proxy, after saying what will happen and asking (see
 * ops_gate.c).
 */
#ifndef MG_OPS_GATE_H
#define MG_OPS_GATE_H

#include <stddef.h>
#include <cjson/cJSON.h>

enum ops_gate_action { OPS_GATE_OPEN, OPS_GATE_CLOSE, OPS_ROLLBACK_OPEN, OPS_ROLLBACK_CLOSE };

/* Run `gate` / `rollback` with the arguments after the command word; returns the exit code. */
int ops_gate_main(int argc, char **argv);
int ops_rollback_main(int argc, char **argv);

/* Why the Canary's state does not allow the action (pure): 1 with the reason in why, 0 when allowed.
 * Opening needs a gated release in flight in a phase that reads that gate; closing is always allowed. */
int ops_gate_refusal(const cJSON *canary, enum ops_gate_action a, char *why, size_t len);

#endif
