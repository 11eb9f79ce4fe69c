/*
 * cJSON accessors for Kubernetes objects (see obj.h).
 */
#include "obj.h"

const cJSON *obj_get(const cJSON *obj, const char *key)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

const char *obj_string(const cJSON *obj, const char *key)
{
    const cJSON *v = obj_get(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *obj_string_or(const cJSON *obj, const char *key, const char *fallback)
{
    const char *s = obj_string(obj, key);

    return s ? s : fallback;
}

const char *obj_label(const cJSON *obj, const char *key)
{
    return obj_string(obj_get(obj_get(obj, "metadata"), "labels"), key);
}

const char *obj_annotation(const cJSON *obj, const char *key)
{
    return obj_string(obj_get(obj_get(obj, "metadata"), "annotations"), key);
}

const char *obj_namespace(const cJSON *obj)
{
    return obj_string_or(obj_get(obj, "metadata"), "namespace", "");
}

const char *obj_name(const cJSON *obj)
{
    return obj_string_or(obj_get(obj, "metadata"), "name", "");
}
