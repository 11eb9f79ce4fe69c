/*
 * The Events told of a notice, without a network: on the Canary and on the object, as `kubectl describe`
 * finds them (kind, namespace, name, uid), with a message that names who, what, the rule, the phase and
 * weight and an override's reason, within the API server's 1 KiB and valid UTF-8 however long the names.
 */
#include "check.h"
#include "events.h"
#include "obj.h"

static void notice_init(struct admission_notice *n, enum admission_notice_kind kind)
{
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    n->rule = "template-in-flight";
    snprintf(n->operation, sizeof(n->operation), "UPDATE");
    snprintf(n->user, sizeof(n->user), "alice");
    snprintf(n->object.api_version, sizeof(n->object.api_version), "apps/v1");
    snprintf(n->object.kind, sizeof(n->object.kind), "Deployment");
    snprintf(n->object.namespace_, sizeof(n->object.namespace_), "test");
    snprintf(n->object.name, sizeof(n->object.name), "podinfo");
    snprintf(n->object.uid, sizeof(n->object.uid), "d-uid");
    decision_release_set(&n->canary, "test", "podinfo-canary", "c-uid", "Progressing", 20);
}

static const char *involved(const cJSON *e, const char *key)
{
    return obj_string(obj_get(e, "involvedObject"), key);
}

static void denial_events_on_canary_and_object(void)
{
    struct admission_notice n;
    cJSON *c, *o;

    notice_init(&n, ADMISSION_NOTICE_DENIED);
    c = events_build(&n, 1, "manual-gate-7d9f", 1714641240.5);
    o = events_build(&n, 0, "manual-gate-7d9f", 1714641240.5);
    CHECK_STR(involved(c, "kind"), "Canary");
    CHECK_STR(involved(c, "apiVersion"), "flagger.app/v1beta1");
    CHECK_STR(involved(c, "name"), "podinfo-canary");
    CHECK_STR(involved(c, "uid"), "c-uid");
    CHECK_STR(involved(o, "kind"), "Deployment");
    CHECK_STR(involved(o, "apiVersion"), "apps/v1");
    CHECK_STR(involved(o, "uid"), "d-uid");
    CHECK_STR(obj_string(obj_get(c, "metadata"), "namespace"), "test");
    CHECK(strncmp(obj_string(obj_get(c, "metadata"), "name"), "podinfo-canary.", 15) == 0);
    CHECK_STR(obj_string(c, "reason"), "ManualGateDenied");
    CHECK_STR(obj_string(c, "type"), "Warning");
    CHECK_STR(obj_string(c, "firstTimestamp"), "2024-05-02T09:14:00Z");
    CHECK_STR(obj_string(c, "reportingInstance"), "manual-gate-7d9f");
    CHECK_STR(obj_string(c, "message"), "manual-gate denied UPDATE of Deployment test/podinfo by alice (rule "
                                        "template-in-flight): gated release of Canary test/podinfo-canary in "
                                        "phase Progressing at canary weight 20%");
    CHECK_STR(obj_string(o, "message"), obj_string(c, "message"));
    cJSON_Delete(c);
    cJSON_Delete(o);
}

static void override_says_why_and_unknown_release_has_no_canary_event(void)
{
    struct admission_notice n;
    cJSON *e;

    notice_init(&n, ADMISSION_NOTICE_OVERRIDDEN);
    snprintf(n.reason, sizeof(n.reason), "INC-42 \"hotfix\"");
    e = events_build(&n, 0, "r", 0);
    CHECK_STR(obj_string(e, "reason"), "ManualGateOverridden");
    CHECK(strstr(obj_string(e, "message"), "through by override of rule template-in-flight, reason: \"INC-42 "
                                           "\"hotfix\"\"") != NULL);
    cJSON_Delete(e);
    n.canary.set = 0;
    CHECK(events_build(&n, 1, "r", 0) == NULL);
    e = events_build(&n, 0, "r", 0);
    CHECK(e && !strstr(obj_string(e, "message"), "phase"));
    cJSON_Delete(e);
    n.kind = ADMISSION_NOTICE_NONE;
    CHECK(events_build(&n, 0, "r", 0) == NULL);
}

/* 1 when s is valid UTF-8. */
static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int follow;

    while (*p) {
        follow = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (follow < 0)
            return 0;
        for (p++; follow > 0; follow--, p++)
            if ((*p & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

static void long_names_are_cut_to_one_kib_of_whole_characters(void)
{
    struct admission_notice n;
    size_t i;
    cJSON *e;

    notice_init(&n, ADMISSION_NOTICE_OVERRIDDEN);
    for (i = 0; i + 2 < sizeof(n.user); i += 2)
        memcpy(n.user + i, "\xc3\xa9", 2); /* é */
    n.user[i] = '\0';
    for (i = 0; i + 3 < sizeof(n.reason); i += 3)
        memcpy(n.reason + i, "\xe2\x82\xac", 3); /* € */
    n.reason[i] = '\0';
    memset(n.object.name, 'a', sizeof(n.object.name) - 1);
    memset(n.canary.name, 'b', sizeof(n.canary.name) - 1);
    e = events_build(&n, 1, "r", 0);
    CHECK(strlen(obj_string(e, "message")) <= 1024);
    CHECK(strlen(obj_string(e, "message")) > 1000);
    CHECK(valid_utf8(obj_string(e, "message")));
    CHECK(strlen(obj_string(obj_get(e, "metadata"), "name")) <= 253);
    cJSON_Delete(e);
}

TEST_MAIN("events", TEST(denial_events_on_canary_and_object),
          TEST(override_says_why_and_unknown_release_has_no_canary_event),
          TEST(long_names_are_cut_to_one_kib_of_whole_characters))
