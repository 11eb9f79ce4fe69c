/*
 * `manual-gate check KIND/NAME`: whether a change to a Deployment, DaemonSet, ConfigMap or Secret may be
 * released now, by the webhook's own policy (see ops_check.c).
 */
#ifndef MG_OPS_CHECK_H
#define MG_OPS_CHECK_H

/* Run `check` with the arguments after the command word; returns the exit code (0, 1, 2). */
int ops_check_main(int argc, char **argv);

#endif
