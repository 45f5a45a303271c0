/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Map declarations of the datapath. Every endpoint object declares the same
 * maps with the layouts of polc_structs.h; the loader shares the node-wide
 * ones (ipcache, its lengths, conntrack, the policy epoch, the monitor's
 * maps, the counters) between objects,
 * the policy tables are per endpoint and direction.
 *
 * The ipcache and the policy tables are hashes probed once per prefix
 * length in use (polc_lookup.h), not LPM tries: a trie lookup walks deeper
 * as the trie grows, a hash probe costs the same at 10 entries or 100,000.
 * Hashes allocate entries on insert (BPF_F_NO_PREALLOC) but their bucket
 * array from max_entries at creation, so the loader sizes each policy map
 * from its table (the max_entries below is the ceiling).
 */
#ifndef POLC_MAPS_H
#define POLC_MAPS_H

#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "polc_structs.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, POLC_IPCACHE_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct polc_ipcache_key);
	__type(value, struct polc_ipcache_value);
} polc_ipcache SEC(".maps");

/* One element (key 0): the prefix lengths polc_ipcache holds. A hash, not an
 * array: an update replaces the element whole instead of copying over it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct polc_ipcache_lengths);
} polc_ipcache_lengths SEC(".maps");

/* Policy for packets entering the endpoint (program polc_to_ep). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, POLC_POLICY_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct polc_policy_key);
	__type(value, struct polc_policy_value);
} polc_policy_in SEC(".maps");

/* Policy for packets leaving the endpoint (program polc_from_ep). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, POLC_POLICY_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct polc_policy_key);
	__type(value, struct polc_policy_value);
} polc_policy_eg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, POLC_CT_MAX_ENTRIES);
	__type(key, struct polc_ct_key);
	__type(value, struct polc_ct_value);
} polc_ct SEC(".maps");

/* One element (key 0): the node's policy epoch (polc_conntrack.h). An array:
 * the verifier turns its lookup into an address computation. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct polc_epoch_value);
} polc_epoch SEC(".maps");

/* Verdict events (polc_monitor.h), all node-wide. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, POLC_EVENTS_RING_BYTES);
} polc_events SEC(".maps");

/* One element (key 0): what the node reports. An array, read by every packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct polc_monitor_config);
} polc_monitor_config SEC(".maps");

/* An endpoint's own level, keyed by ifindex; read only when one is set. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, POLC_MONITOR_MAX_ENDPOINTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct polc_monitor_endpoint);
} polc_monitor_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct polc_event_stats);
} polc_event_stats SEC(".maps");

/* Packets and bytes per endpoint, rule and reason (polc_counters.h). A
 * hash without preallocation: memory for the keys in use, not for the
 * ceiling, times every CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, POLC_COUNTERS_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct polc_counter_key);
	__type(value, struct polc_counter_value);
} polc_counters SEC(".maps");

#endif /* POLC_MAPS_H */
