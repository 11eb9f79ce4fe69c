/*
 * The decision shared by the validators of objects whose change restarts a gated release (targets,
 * tracked ConfigMaps and Secrets): given what the Canary lookup answered, allow, deny with a message
 * that says how to proceed, or let the change through by break glass (the manual-gate.io/override
 * annotation or the --override-group) with a warning and audit annotations.
 *
 * Memory: struct guard_subject only borrows; everything guard_decide attaches is owned by the decision.
 */
#ifndef MG_GUARD_H
#define MG_GUARD_H

#include <cjson/cJSON.h>

#include "policy.h"

/* The object whose change is judged, as the messages name it. No field may be NULL. */
struct guard_subject {
    const char *kind;       /* "Deployment", "DaemonSet", "ConfigMap", "Secret" */
    const char *namespace_;
    const char *name;
    const char *relation;   /* "is the target of", "is tracked by" */
    const char *change;     /* what the request does: "a new pod template", "deleting it", ... */
    const cJSON *annotated; /* the object whose override annotation counts (NULL: none); on UPDATE it
                               counts only when its value differs from the old object's */
};

/* Decide a change of s, lookup_rc and info being the lookup's answer (LOOKUP_FOUND, LOOKUP_NONE,
 * anything else = unknown); fills d. */
void guard_decide(const struct admission_request *req, const struct policy_config *cfg, int lookup_rc,
                  const struct canary_info *info, const struct guard_subject *s, struct decision *d);

/* Fill kind, namespace_, name (from the request, else the object's metadata) and annotated (the new
 * object, or the old one on DELETE, so that annotating then deleting works); the caller sets the rest. */
void guard_subject_init(const struct admission_request *req, struct guard_subject *s);

#endif
