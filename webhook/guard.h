/*
 * The decision shared by the validators of objects whose change is a new revision for Flagger (targets,
 * tracked ConfigMaps and Secrets, Flagger itself): given what the Canary lookup answered and the release's
 * phase, allow, warn, deny with a message that says what would happen and how to proceed, or let the change
 * through by break glass (the manual-gate.io/override annotation or the --override-group) with a warning
 * and audit annotations.
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
    const char *rule;       /* the rule id a denial in flight carries ("template-in-flight", ...) */
};

/* Decide a change of s that is a new revision for one Canary, lookup_rc and info being the lookup's answer
 * (CANARY_LOOKUP_FOUND, CANARY_LOOKUP_NONE, anything else = unknown), by the phase table at the top of
 * guard.c; fills d. */
void guard_decide(const struct admission_request *req, const struct policy_config *cfg, int lookup_rc,
                  const struct canary_info *info, const struct guard_subject *s, struct decision *d);
/* Decide a change of s that may be a new revision for any gated Canary of namespace ns (NULL: of every
 * namespace): denied while any such release would be lost (lookup->releases), naming them; why completes
 * "<change> <why>" in the message. Override and unknown state as for guard_decide. */
void guard_decide_any(const struct admission_request *req, const struct policy_config *cfg,
                      const struct canary_lookup *lookup, const char *ns, const struct guard_subject *s,
                      const char *why, struct decision *d);

/* 1 when the requesting user is in --override-group. */
int guard_in_override_group(const struct admission_request *req, const struct policy_config *cfg);

/* Fill kind, namespace_, name (from the request, else the object's metadata) and annotated (the new
 * object, or the old one on DELETE, so that annotating then deleting works); the caller sets the rest
 * (relation, change and rule). */
void guard_subject_init(const struct admission_request *req, struct guard_subject *s);

#endif
