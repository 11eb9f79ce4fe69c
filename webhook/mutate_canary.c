/* Placeholder until the mutating policy lands: allows every Canary unchanged. */
#include "mutate_canary.h"
void mutate_canary(const struct admission_request *req, const struct policy_config *cfg, struct decision *d)
{ (void)req; (void)cfg; (void)d; }
void mutate_canary_object(const cJSON *canary, const struct policy_config *cfg, struct decision *d)
{ (void)canary; (void)cfg; (void)d; }
