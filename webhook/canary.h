/*
 * Flagger's model of a Canary, as Flagger's own code reads it (docs/design.md, "Flagger facts"): which
 * analysis block applies, how the interval parses, which strategy runs, which phases are a release in
 * flight, and what makes a Canary gated. Pure functions over cJSON; nothing here allocates.
 */
#ifndef MG_CANARY_H
#define MG_CANARY_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "obj.h"

#define CANARY_LABEL_ENABLED "manual-gate.io/enabled"
#define CANARY_ANN_LOADTESTER "manual-gate.io/loadtester"
#define CANARY_ANN_MAX_DURATION "manual-gate.io/max-duration"
#define CANARY_ANN_OVERRIDE "manual-gate.io/override"
#define CANARY_ANN_ORIGINAL_THRESHOLD "manual-gate.io/original-threshold"

#define CANARY_HOOK_CONFIRM_TRAFFIC "confirm-traffic-increase"
#define CANARY_HOOK_ROLLBACK "rollback"
#define CANARY_HOOK_POST_ROLLOUT "post-rollout"
#define CANARY_PATH_GATE_CHECK "/gate/check"
#define CANARY_PATH_GATE_CLOSE "/gate/close"
#define CANARY_PATH_ROLLBACK_CHECK "/rollback/check"
#define CANARY_PATH_ROLLBACK_CLOSE "/rollback/close"

enum canary_strategy { CANARY_STRATEGY_CANARY, CANARY_STRATEGY_AB, CANARY_STRATEGY_BLUE_GREEN };

/* Values of the manual-gate.io/enabled label. */
enum canary_enabled { CANARY_ENABLED_UNSET, CANARY_ENABLED_TRUE, CANARY_ENABLED_FALSE };

/* Flagger's GetAnalysis(): spec.analysis, or spec.canaryAnalysis when analysis is absent; NULL if neither. */
const cJSON *canary_analysis(const cJSON *canary);
/* Name of the analysis key in use ("analysis" or "canaryAnalysis"), NULL if neither. */
const char *canary_analysis_key(const cJSON *canary);
/* Interval in nanoseconds as Flagger reads it: Go duration; empty/invalid = 60s; below 10s = 10s. */
int64_t canary_interval_ns(const cJSON *analysis);
/* The same interval in whole seconds, rounded up (for messages; compute with canary_interval_ns). */
long canary_interval_seconds(const cJSON *analysis);
/* Parse a Go duration ("1h30m", "90s", "1.5h") into seconds; -1 when invalid. Units ns..h; beyond Go's
 * int64 nanoseconds (about 2562047h47m16.854s) is invalid, as for Flagger. A negative duration comes
 * back negative, so callers that accept those cannot tell "-1s" from invalid. */
double canary_parse_go_duration(const char *s);
/* The provider Flagger uses: spec.provider, else its -mesh-provider (default_provider, NULL if unknown). */
const char *canary_provider(const cJSON *canary, const char *default_provider);
/* The values of Flagger's -mesh-provider flag, as its help lists them, comma separated (for messages). */
#define CANARY_MESH_PROVIDERS "apisix, appmesh, appmesh:v1beta2, contour, gatewayapi:v1, gatewayapi:v1beta1, " \
    "gloo, istio, knative, kubernetes, kuma, linkerd, nginx, osm, skipper, smi:v1alpha1, smi:v1alpha2, smi:v1alpha3, traefik"
/* 1 when provider is one of CANARY_MESH_PROVIDERS. */
int canary_mesh_provider_known(const char *provider);
/* Strategy Flagger runs: iterations > 0 (A/B with match), provider kubernetes forces blue/green.
 * default_provider is Flagger's -mesh-provider, used when spec.provider is empty (NULL: unknown). */
enum canary_strategy canary_strategy(const cJSON *canary, const char *default_provider);
/* What a new revision of a gated Canary's target (a new pod template, a tracked ConfigMap or Secret
 * changed) does to its release, by status.phase and status.canaryWeight (Flagger checks for a new revision
 * only in Progressing and WaitingPromotion). In increasing order of cost. */
enum canary_release {
    CANARY_RELEASE_NONE,        /* no release in flight: the change starts one, as every gated release begins */
    CANARY_RELEASE_WAITING,     /* Waiting: a confirm-rollout hook holds it; the template is hashed at approval */
    CANARY_RELEASE_FINALISING,  /* Finalising: no restart; once Succeeded, the change starts a new gated release */
    CANARY_RELEASE_NOT_STARTED, /* Progressing at weight 0: restarts, but no step was taken: only waiting is lost */
    CANARY_RELEASE_RESTARTS,    /* Progressing above 0, WaitingPromotion: the analysis restarts from 0% */
    CANARY_RELEASE_LIVE,        /* Promoting, Failed above 0: the canary serves traffic; unanalysed code goes live */
};
/* The release state of a Canary in that phase at that canary weight. */
enum canary_release canary_release_of(const char *phase, int weight);
/* 1 when a new revision is denied in that state (CANARY_RELEASE_RESTARTS, CANARY_RELEASE_LIVE). */
int canary_release_denies(enum canary_release r);
/* 1 when the Canary's phase is one of a release Flagger is running (Progressing, Waiting,
 * WaitingPromotion, Promoting, Finalising): what the Canary's own rules (gating switched off, targetRef
 * changed, deleted) protect. */
int canary_in_flight(const cJSON *canary);
/* Order among Canaries that share a target or a tracked config: the one a lookup answers is the gated one
 * in the costliest state. */
int canary_release_rank(int gated, enum canary_release r);
/* status.phase, "" when absent. */
const char *canary_phase(const cJSON *canary);
/* status.canaryWeight, 0 when absent. */
int canary_weight(const cJSON *canary);
/* status.failedChecks, 0 when absent. */
int canary_failed_checks(const cJSON *canary);
/* The number of failed checks at which Flagger rolls back: analysis.threshold, where a value <= 0 or none
 * means 1. */
double canary_threshold(const cJSON *analysis);
/* status.lastTransitionTime (RFC 3339, as Flagger writes it at each change of phase, weight, failed checks or
 * iterations) in Unix seconds; 0 when absent or unreadable. */
int64_t canary_last_transition(const cJSON *canary);
/* Flagger's maxWeight(): the last of stepWeights (at most 100), else maxWeight when above 0, else 100. */
int canary_max_weight(const cJSON *canary);
/* Flagger's nextStepWeight(): how much the step taken from canary weight `weight` adds (0: Flagger never
 * steps, as with no stepWeight and no stepWeights). A current weight that is not one of stepWeights steps
 * straight to 100, as Flagger's own loop does. */
int canary_step_weight(const cJSON *canary, int weight);
/* Where the next opened gate takes a release at canary weight `weight`: the new weight (Flagger caps it at
 * 100, not at max weight), CANARY_NEXT_PROMOTION when weight has reached max weight (the next step
 * promotes), or 0 when Flagger never steps. */
int canary_next_weight(const cJSON *canary, int weight);
#define CANARY_NEXT_PROMOTION -1
/* The manual-gate.io/enabled label. */
enum canary_enabled canary_enabled_label(const cJSON *canary);
/* 1 when hook is a webhook of the given type whose URL path equals path. */
int canary_hook_is(const cJSON *hook, const char *type, const char *path);
/* The first confirm-traffic-increase /gate/check hook of the analysis, NULL if none. */
const cJSON *canary_gate_check_hook(const cJSON *canary);
/* 1 when an UPDATE leaves what the policies read (spec, labels, annotations) as stored. The mutator
 * and the Canary validator both skip such updates, with this one definition so that they agree. */
int canary_gating_inputs_unchanged(const cJSON *old_obj, const cJSON *new_obj);
/* "Gating enabled" as the mutator acts on it: the label "true", or a /gate/check hook without the label
 * "false" (which wins over both). */
int canary_gating_enabled(const cJSON *canary);
/* "Gated" as the validators mean it: a /gate/check hook, or the label enabled=true. */
int canary_is_gated(const cJSON *canary);

/* What the Canary cache knows of one Canary, copied out so no lock is held by the caller: what the policies
 * read, the uid that Events on the Canary need, and what /metrics shows of a gated release. */
struct canary_info {
    char namespace_[64];
    char name[254];
    char uid[40];       /* metadata.uid, "" when unset */
    char phase[32];     /* status.phase, "" when unset */
    int weight;         /* status.canaryWeight */
    int gated;          /* has a /gate/check confirm-traffic-increase hook or label enabled=true */
    enum canary_release release; /* what a new revision costs it now (canary.h) */
    int failed_checks;  /* status.failedChecks */
    double threshold;   /* canary_threshold */
    int64_t last_transition; /* canary_last_transition */
};

/* Lookup results. */
#define CANARY_LOOKUP_NONE 0     /* the cache is synced and no Canary matches */
#define CANARY_LOOKUP_FOUND 1    /* *out is filled */
#define CANARY_LOOKUP_UNKNOWN -1 /* the cache cannot answer (never synced) */

/* The Canary cache as the policies see it. Where several Canaries match, by_target and by_config return
 * the one with the highest canary_release_rank (the gated one in the costliest state), the first to
 * arrive among equals. */
struct canary_lookup {
    void *ctx;
    /* Canary in namespace ns whose spec.targetRef is kind/name ("Deployment"/"DaemonSet"). */
    int (*by_target)(void *ctx, const char *ns, const char *kind, const char *name, struct canary_info *out);
    /* Canary in namespace ns whose status.trackedConfigs has ref ("configmap/NAME", "secret/NAME"). */
    int (*by_config)(void *ctx, const char *ns, const char *ref, struct canary_info *out);
    /* The gated Canaries whose release a new revision would lose (canary_release_denies), in namespace ns,
     * or in every namespace when ns is NULL, sorted by namespace and name: the first max of them copied
     * to out. Returns how many there are (possibly more than max), or CANARY_LOOKUP_UNKNOWN. */
    int (*releases)(void *ctx, const char *ns, struct canary_info *out, int max);
};

#endif
