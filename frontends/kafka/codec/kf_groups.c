/*
 * kf_groups.c — the classic consumer-group APIs: FindCoordinator (10)
 * v0-2, JoinGroup (11) v0-5, Heartbeat (12) v0-3, LeaveGroup (13) v0-4,
 * SyncGroup (14) v0-3, DescribeGroups (15) v0-4, ListGroups (16) v0-2 and
 * DeleteGroups (42) v0-1.  Of these only LeaveGroup v4 is flexible
 * (compact strings and arrays, tagged fields after each struct).
 *
 * Layouts from apache/kafka clients/src/main/resources/common/message/
 * <Api>Request.json and <Api>Response.json.  "throttle" below is an int32
 * throttle_time_ms.  Member metadata and assignments are opaque bytes (the
 * consumer protocol inside them is the clients' business).
 *
 * FindCoordinator request:  string key; int8 key_type (v1+)
 * FindCoordinator response: throttle (v1+); int16 error_code;
 *   nullable string error_message (v1+); int32 node_id; string host;
 *   int32 port
 *
 * JoinGroup request: string group_id; int32 session_timeout_ms;
 *   int32 rebalance_timeout_ms (v1+); string member_id;
 *   nullable string group_instance_id (v5+); string protocol_type;
 *   array protocols { string name; bytes metadata }
 * JoinGroup response: throttle (v2+); int16 error_code;
 *   int32 generation_id; string protocol_name; string leader;
 *   string member_id; array members { string member_id;
 *   nullable string group_instance_id (v5+); bytes metadata }
 *
 * Heartbeat request: string group_id; int32 generation_id;
 *   string member_id; nullable string group_instance_id (v3+)
 * Heartbeat response: throttle (v1+); int16 error_code
 *
 * LeaveGroup request: string group_id; string member_id (v0-2);
 *   array members (v3+) { string member_id;
 *   nullable string group_instance_id }
 * LeaveGroup response: throttle (v1+); int16 error_code;
 *   array members (v3+) { string member_id;
 *   nullable string group_instance_id; int16 error_code }
 *
 * SyncGroup request: string group_id; int32 generation_id;
 *   string member_id; nullable string group_instance_id (v3+);
 *   array assignments { string member_id; bytes assignment }
 * SyncGroup response: throttle (v1+); int16 error_code; bytes assignment
 *
 * DescribeGroups request: array string groups;
 *   bool include_authorized_operations (v3+)
 * DescribeGroups response: throttle (v1+); array groups {
 *   int16 error_code; string group_id; string group_state;
 *   string protocol_type; string protocol_data; array members {
 *   string member_id; nullable string group_instance_id (v4+);
 *   string client_id; string client_host; bytes member_metadata;
 *   bytes member_assignment }; int32 authorized_operations (v3+) }
 *
 * ListGroups request: empty (states_filter arrives in v4)
 * ListGroups response: throttle (v1+); int16 error_code;
 *   array groups { string group_id; string protocol_type }
 *
 * DeleteGroups request: array string groups_names
 * DeleteGroups response: throttle (v0+); array results {
 *   string group_id; int16 error_code }
 */
#include "kf_codec_impl.h"

/* ---- FindCoordinator ---------------------------------------------------- */

void
kf__findcoordinator_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_findcoordinator_req *m = mp;
    kf__str(io, &m->key);
    if (v >= 1)
        kf__i8(io, &m->key_type);
}

void
kf__findcoordinator_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_findcoordinator_resp *m = mp;
    if (v >= 1)
        kf__i32(io, &m->throttle_time_ms);
    kf__i16(io, &m->error_code);
    if (v >= 1)
        kf__nstr(io, &m->error_message);
    kf__i32(io, &m->node_id);
    kf__str(io, &m->host);
    kf__i32(io, &m->port);
}

KF__DEFINE_API(findcoordinator, KF_API_FIND_COORDINATOR)

/* ---- JoinGroup ---------------------------------------------------------- */

static void
join_protocol_walk(kf__io *io, int16_t v, void *mp)
{
    kf_joingroup_protocol *m = mp;
    (void)v;
    kf__str(io, &m->name);
    kf__bytes(io, &m->metadata);
}

void
kf__joingroup_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_joingroup_req *m = mp;
    kf__str(io, &m->group_id);
    kf__i32(io, &m->session_timeout_ms);
    if (v >= 1)
        kf__i32(io, &m->rebalance_timeout_ms);
    kf__str(io, &m->member_id);
    if (v >= 5)
        kf__nstr(io, &m->group_instance_id);
    kf__str(io, &m->protocol_type);
    KF__ARRAY(io, v, m->protocols, m->n_protocols, join_protocol_walk);
}

static void
join_member_walk(kf__io *io, int16_t v, void *mp)
{
    kf_joingroup_member *m = mp;
    kf__str(io, &m->member_id);
    if (v >= 5)
        kf__nstr(io, &m->group_instance_id);
    kf__bytes(io, &m->metadata);
}

void
kf__joingroup_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_joingroup_resp *m = mp;
    if (v >= 2)
        kf__i32(io, &m->throttle_time_ms);
    kf__i16(io, &m->error_code);
    kf__i32(io, &m->generation_id);
    kf__str(io, &m->protocol_name);
    kf__str(io, &m->leader);
    kf__str(io, &m->member_id);
    KF__ARRAY(io, v, m->members, m->n_members, join_member_walk);
}

KF__DEFINE_API(joingroup, KF_API_JOIN_GROUP)

/* ---- Heartbeat ---------------------------------------------------------- */

void
kf__heartbeat_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_heartbeat_req *m = mp;
    kf__str(io, &m->group_id);
    kf__i32(io, &m->generation_id);
    kf__str(io, &m->member_id);
    if (v >= 3)
        kf__nstr(io, &m->group_instance_id);
}

void
kf__heartbeat_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_heartbeat_resp *m = mp;
    if (v >= 1)
        kf__i32(io, &m->throttle_time_ms);
    kf__i16(io, &m->error_code);
}

KF__DEFINE_API(heartbeat, KF_API_HEARTBEAT)

/* ---- LeaveGroup --------------------------------------------------------- */

static void
leave_member_walk(kf__io *io, int16_t v, void *mp)
{
    kf_leavegroup_member *m = mp;
    (void)v;
    kf__str(io, &m->member_id);
    kf__nstr(io, &m->group_instance_id);
    kf__tags(io);
}

void
kf__leavegroup_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_leavegroup_req *m = mp;
    kf__str(io, &m->group_id);
    if (v <= 2)
        kf__str(io, &m->member_id);
    else
        KF__ARRAY(io, v, m->members, m->n_members, leave_member_walk);
    kf__tags(io);
}

static void
leave_member_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_leavegroup_member_resp *m = mp;
    (void)v;
    kf__str(io, &m->member_id);
    kf__nstr(io, &m->group_instance_id);
    kf__i16(io, &m->error_code);
    kf__tags(io);
}

void
kf__leavegroup_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_leavegroup_resp *m = mp;
    if (v >= 1)
        kf__i32(io, &m->throttle_time_ms);
    kf__i16(io, &m->error_code);
    if (v >= 3)
        KF__ARRAY(io, v, m->members, m->n_members, leave_member_resp_walk);
    kf__tags(io);
}

KF__DEFINE_API(leavegroup, KF_API_LEAVE_GROUP)

/* ---- SyncGroup ---------------------------------------------------------- */

static void
sync_assignment_walk(kf__io *io, int16_t v, void *mp)
{
    kf_syncgroup_assignment *m = mp;
    (void)v;
    kf__str(io, &m->member_id);
    kf__bytes(io, &m->assignment);
}

void
kf__syncgroup_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_syncgroup_req *m = mp;
    kf__str(io, &m->group_id);
    kf__i32(io, &m->generation_id);
    kf__str(io, &m->member_id);
    if (v >= 3)
        kf__nstr(io, &m->group_instance_id);
    KF__ARRAY(io, v, m->assignments, m->n_assignments, sync_assignment_walk);
}

void
kf__syncgroup_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_syncgroup_resp *m = mp;
    if (v >= 1)
        kf__i32(io, &m->throttle_time_ms);
    kf__i16(io, &m->error_code);
    /* Always present, even when empty: franz-go and others fail to parse
     * a SyncGroup response without it (kafka-notes §5.6). */
    kf__bytes(io, &m->assignment);
}

KF__DEFINE_API(syncgroup, KF_API_SYNC_GROUP)

/* ---- DescribeGroups ----------------------------------------------------- */

void
kf__describegroups_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_describegroups_req *m = mp;
    KF__ARRAY(io, v, m->groups, m->n_groups, kf__walk_str);
    if (v >= 3)
        kf__bool(io, &m->include_authorized_operations);
}

static void
describe_member_walk(kf__io *io, int16_t v, void *mp)
{
    kf_describegroups_member *m = mp;
    kf__str(io, &m->member_id);
    if (v >= 4)
        kf__nstr(io, &m->group_instance_id);
    kf__str(io, &m->client_id);
    kf__str(io, &m->client_host);
    kf__bytes(io, &m->member_metadata);
    kf__bytes(io, &m->member_assignment);
}

static void
describe_group_walk(kf__io *io, int16_t v, void *mp)
{
    kf_describegroups_group *m = mp;
    kf__i16(io, &m->error_code);
    kf__str(io, &m->group_id);
    kf__str(io, &m->group_state);
    kf__str(io, &m->protocol_type);
    kf__str(io, &m->protocol_data);
    KF__ARRAY(io, v, m->members, m->n_members, describe_member_walk);
    if (v >= 3)
        kf__i32(io, &m->authorized_operations);
}

void
kf__describegroups_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_describegroups_resp *m = mp;
    if (v >= 1)
        kf__i32(io, &m->throttle_time_ms);
    KF__ARRAY(io, v, m->groups, m->n_groups, describe_group_walk);
}

KF__DEFINE_API(describegroups, KF_API_DESCRIBE_GROUPS)

/* ---- ListGroups --------------------------------------------------------- */

void
kf__listgroups_req_walk(kf__io *io, int16_t v, void *mp)
{
    /* The body is empty in v0-2. */
    (void)io;
    (void)v;
    (void)mp;
}

static void
listed_group_walk(kf__io *io, int16_t v, void *mp)
{
    kf_listgroups_group *m = mp;
    (void)v;
    kf__str(io, &m->group_id);
    kf__str(io, &m->protocol_type);
}

void
kf__listgroups_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_listgroups_resp *m = mp;
    if (v >= 1)
        kf__i32(io, &m->throttle_time_ms);
    kf__i16(io, &m->error_code);
    KF__ARRAY(io, v, m->groups, m->n_groups, listed_group_walk);
}

KF__DEFINE_API(listgroups, KF_API_LIST_GROUPS)

/* ---- DeleteGroups ------------------------------------------------------- */

void
kf__deletegroups_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_deletegroups_req *m = mp;
    KF__ARRAY(io, v, m->groups_names, m->n_groups_names, kf__walk_str);
}

static void
deletable_walk(kf__io *io, int16_t v, void *mp)
{
    kf_deletegroups_result *m = mp;
    (void)v;
    kf__str(io, &m->group_id);
    kf__i16(io, &m->error_code);
}

void
kf__deletegroups_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_deletegroups_resp *m = mp;
    kf__i32(io, &m->throttle_time_ms);
    KF__ARRAY(io, v, m->results, m->n_results, deletable_walk);
}

KF__DEFINE_API(deletegroups, KF_API_DELETE_GROUPS)
