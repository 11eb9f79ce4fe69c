/*
 * Kubernetes Events about denials and overrides, so that `kubectl describe` of the Canary (and of the
 * denied object) shows who tried what, in which phase and at which weight, and why an override was used.
 * A review only copies its notice into a bounded queue and returns; one background thread posts the Events
 * through a Kubernetes API client of its own. A full queue drops the notice and counts it: an Event is
 * worth less than a review's latency. Dry runs get no Event (the admission contract: no side effects).
 *
 * Memory: events_start returns a queue released with events_stop (which stops the thread). events_build
 * returns a cJSON object the caller frees.
 */
#ifndef MG_EVENTS_H
#define MG_EVENTS_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "admission.h"
#include "kube.h"

/* Notices waiting to be posted at most. A GitOps sync that denies a whole repository's worth of changes
 * fits; beyond it the API server would be asked for hundreds of Events at once, which its own event rate
 * limits would refuse anyway. Each slot is about 1.2 KiB. */
#define EVENTS_QUEUE_MAX 256

struct events;

struct events_stats {
    long posted;  /* Events the API server accepted */
    long failed;  /* Events it refused, or that could not be sent */
    long dropped; /* notices dropped because the queue was full */
    long queued;  /* notices waiting now */
};

/* Start the queue and its thread with an API client for cfg. NULL with a reason in err when the client
 * cannot be set up. */
struct events *events_start(const struct kube_config *cfg, char *err, size_t errlen);
/* Stop the thread (after the post under way) and free the queue; notices still queued are dropped. NULL is
 * fine. */
void events_stop(struct events *e);
/* Queue the Events of a notice: 0 queued, 1 nothing to post (no notice, a dry run, or e NULL), -1 dropped
 * (queue full). Never blocks on the network. Thread-safe. */
int events_notify(struct events *e, const struct admission_notice *n);
/* The counters above. Thread-safe; zeros for NULL. */
void events_stats(struct events *e, struct events_stats *out);
/* The core/v1 Event for a notice, on the Canary (on_canary 1) or on the request's object, as posted;
 * reporter is the reportingInstance (the pod's name), now the wall-clock time in Unix seconds. NULL when
 * there is nothing to report on that object (no Canary known, an object without a name) or out of memory. */
cJSON *events_build(const struct admission_notice *n, int on_canary, const char *reporter, double now);

#endif
