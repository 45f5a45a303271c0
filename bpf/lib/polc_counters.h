/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-rule and per-reason counters (polc_counter_key, polc_structs.h): what
 * `polc stats` and `polc metrics` read. Every judged packet adds itself to
 * its key in the node's per-CPU hash: one lookup and two adds to memory of
 * this CPU alone (no atomics); the first packet of a key inserts it.
 */
#ifndef POLC_COUNTERS_H
#define POLC_COUNTERS_H

#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "polc_maps.h"
#include "polc_structs.h"

/* Packs what polc_count_packet() takes besides the ifindex, rule and length. */
#define POLC_COUNT_WHAT(direction, reason, verdict)                                                \
	((__u32)(direction) | ((__u32)(reason) << 8) | ((__u32)(verdict) << 16))

/*
 * A global function, verified once rather than at each of the verdicts
 * that call it. A key that two CPUs insert at once is inserted by one; the
 * other finds it on a second lookup, so no packet goes uncounted. A full
 * map is the one case where a packet is not counted.
 */
__attribute__((noinline)) int polc_count_packet(__u32 ifindex, __u32 rule_id, __u32 what,
						__u32 length)
{
	struct polc_counter_key key = {
	    .ifindex = ifindex,
	    .rule_id = rule_id,
	    .direction = what & 0xff,
	    .reason = (what >> 8) & 0xff,
	    .verdict = (what >> 16) & 0xff,
	    .pad = 0,
	};
	struct polc_counter_value first = {.packets = 1, .bytes = length};
	struct polc_counter_value *value = bpf_map_lookup_elem(&polc_counters, &key);

	if (!value) {
		if (bpf_map_update_elem(&polc_counters, &key, &first, BPF_NOEXIST) == 0)
			return 0;
		value = bpf_map_lookup_elem(&polc_counters, &key);
		if (!value)
			return 0;
	}
	value->packets++;
	value->bytes += length;
	return 0;
}

#endif /* POLC_COUNTERS_H */
