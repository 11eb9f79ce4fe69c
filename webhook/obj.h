/*
 * Read access to Kubernetes objects held as cJSON: the one accessor family the policies, the cache and
 * the commands share. Every function takes any cJSON (NULL, or a value of the wrong type, included) and
 * answers "absent" rather than failing, because admission objects and manifests are untrusted input.
 * Nothing here allocates; returned pointers point into the object.
 */
#ifndef MG_OBJ_H
#define MG_OBJ_H

#include <cjson/cJSON.h>

/* obj[key] when obj is an object, else NULL. */
const cJSON *obj_get(const cJSON *obj, const char *key);
/* obj[key] when it is a string, else NULL. */
const char *obj_string(const cJSON *obj, const char *key);
/* obj[key] when it is a string, else fallback. */
const char *obj_string_or(const cJSON *obj, const char *key, const char *fallback);
/* metadata.labels[key] / metadata.annotations[key] when a string, else NULL. */
const char *obj_label(const cJSON *obj, const char *key);
const char *obj_annotation(const cJSON *obj, const char *key);
/* metadata.namespace / metadata.name, "" when absent. */
const char *obj_namespace(const cJSON *obj);
const char *obj_name(const cJSON *obj);

#endif
