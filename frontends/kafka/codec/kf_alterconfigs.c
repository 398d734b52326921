/*
 * kf_alterconfigs.c — AlterConfigs (key 33) v0-1 and
 * IncrementalAlterConfigs (key 44) v0-1; IncrementalAlterConfigs v1 is
 * flexible (compact lengths, tagged fields), the rest is not.
 *
 * Layouts from apache/kafka clients/src/main/resources/common/message/
 * AlterConfigsRequest.json, AlterConfigsResponse.json,
 * IncrementalAlterConfigsRequest.json and IncrementalAlterConfigsResponse.json.
 *
 * AlterConfigs request (replace: every config of the resource not listed
 * goes back to its default)
 *   array  resources {
 *     int8   resource_type           2 topic, 4 broker
 *     string resource_name
 *     array  configs { string name; nullable string value }
 *   }
 *   bool   validate_only
 * AlterConfigs response
 *   int32  throttle_time_ms
 *   array  responses { int16 error_code; nullable string error_message;
 *                      int8 resource_type; string resource_name }
 *
 * IncrementalAlterConfigs request
 *   array  resources {
 *     int8   resource_type
 *     string resource_name
 *     array  configs { string name;
 *                      int8 config_operation   0 SET, 1 DELETE,
 *                                              2 APPEND, 3 SUBTRACT
 *                      nullable string value }
 *   }
 *   bool   validate_only
 * IncrementalAlterConfigs response: as AlterConfigs'.
 * Every struct of v1 ends with tagged fields.
 */
#include "kf_codec_impl.h"

/* ---- AlterConfigs ------------------------------------------------------- */

static void
ac_config_walk(kf__io *io, int16_t v, void *mp)
{
    kf_alterconfigs_config *m = mp;
    (void)v;
    kf__str(io, &m->name);
    kf__nstr(io, &m->value);
}

static void
ac_resource_walk(kf__io *io, int16_t v, void *mp)
{
    kf_alterconfigs_resource *m = mp;
    kf__i8(io, &m->resource_type);
    kf__str(io, &m->resource_name);
    KF__ARRAY(io, v, m->configs, m->n_configs, ac_config_walk);
}

void
kf__alterconfigs_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_alterconfigs_req *m = mp;
    KF__ARRAY(io, v, m->resources, m->n_resources, ac_resource_walk);
    kf__bool(io, &m->validate_only);
}

/* One resource's outcome; shared by both APIs (the tags are a no-op on
 * the non-flexible versions). */
static void
ac_result_walk(kf__io *io, int16_t v, void *mp)
{
    kf_alterconfigs_result *m = mp;
    (void)v;
    kf__i16(io, &m->error_code);
    kf__nstr(io, &m->error_message);
    kf__i8(io, &m->resource_type);
    kf__str(io, &m->resource_name);
    kf__tags(io);
}

void
kf__alterconfigs_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_alterconfigs_resp *m = mp;
    kf__i32(io, &m->throttle_time_ms);
    KF__ARRAY(io, v, m->responses, m->n_responses, ac_result_walk);
}

KF__DEFINE_API(alterconfigs, KF_API_ALTER_CONFIGS)

/* ---- IncrementalAlterConfigs -------------------------------------------- */

static void
iac_config_walk(kf__io *io, int16_t v, void *mp)
{
    kf_incrementalalterconfigs_config *m = mp;
    (void)v;
    kf__str(io, &m->name);
    kf__i8(io, &m->config_operation);
    kf__nstr(io, &m->value);
    kf__tags(io);
}

static void
iac_resource_walk(kf__io *io, int16_t v, void *mp)
{
    kf_incrementalalterconfigs_resource *m = mp;
    kf__i8(io, &m->resource_type);
    kf__str(io, &m->resource_name);
    KF__ARRAY(io, v, m->configs, m->n_configs, iac_config_walk);
    kf__tags(io);
}

void
kf__incrementalalterconfigs_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_incrementalalterconfigs_req *m = mp;
    KF__ARRAY(io, v, m->resources, m->n_resources, iac_resource_walk);
    kf__bool(io, &m->validate_only);
    kf__tags(io);
}

void
kf__incrementalalterconfigs_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_incrementalalterconfigs_resp *m = mp;
    kf__i32(io, &m->throttle_time_ms);
    KF__ARRAY(io, v, m->responses, m->n_responses, ac_result_walk);
    kf__tags(io);
}

KF__DEFINE_API(incrementalalterconfigs, KF_API_INCREMENTAL_ALTER_CONFIGS)
