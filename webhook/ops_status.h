/*
 * `manual-gate status`: the state of gated releases and of their gates (see ops_status.c).
 */
#ifndef MG_OPS_STATUS_H
#define MG_OPS_STATUS_H

/* Run `status` with the arguments after the command word; returns the exit code. */
int ops_status_main(int argc, char **argv);

#endif
