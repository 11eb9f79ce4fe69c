/* Placeholder until the offline command lands. */
#include "offline.h"
#include <stdio.h>
int offline_mutate(const char *path, const struct policy_config *cfg)
{ (void)cfg; fprintf(stderr, "mutate %s: not built yet\n", path); return 2; }
