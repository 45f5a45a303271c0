/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Map declarations of the datapath. Every endpoint object declares the same
 * maps with the layouts of polc_structs.h; the loader shares the node-wide
 * ones (ipcache, conntrack) between objects, the policy tables are per
 * endpoint and direction.
 */
#ifndef POLC_MAPS_H
#define POLC_MAPS_H

#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "polc_structs.h"

/* LPM tries must be created without preallocation. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, POLC_IPCACHE_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct polc_ipcache_key);
	__type(value, struct polc_ipcache_value);
} polc_ipcache SEC(".maps");

/* Policy for packets entering the endpoint (program polc_to_ep). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, POLC_POLICY_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct polc_policy_key);
	__type(value, struct polc_policy_value);
} polc_policy_in SEC(".maps");

/* Policy for packets leaving the endpoint (program polc_from_ep). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
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

#endif /* POLC_MAPS_H */
