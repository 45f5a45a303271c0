/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Conntrack: recognizes replies of flows that one of the endpoint's two
 * programs let through. An entry is keyed by the tuple as its creating
 * program saw it plus that program's direction; the other program finds it
 * by looking up the reversed tuple with the opposite direction.
 *
 * Entries do not expire here: the LRU evicts them, and a policy change
 * still stops a flow because forward packets are always judged by policy.
 */
#ifndef POLC_CONNTRACK_H
#define POLC_CONNTRACK_H

#include "polc_maps.h"
#include "polc_parse.h"

/* rule_id of an entry opened without a matching rule (non-isolated direction). */
#define POLC_CT_RULE_NONE 0xffffffffu

static __always_inline __u8 polc_ct_opposite(__u8 direction)
{
	return direction == POLC_CT_EGRESS ? POLC_CT_INGRESS : POLC_CT_EGRESS;
}

/* The packet's tuple as seen by the program of the given direction. */
static __always_inline void polc_ct_forward_key(const struct polc_packet *pkt, __u8 direction,
						struct polc_ct_key *key)
{
	__builtin_memcpy(key->saddr, pkt->saddr, sizeof(key->saddr));
	__builtin_memcpy(key->daddr, pkt->daddr, sizeof(key->daddr));
	key->sport = pkt->sport;
	key->dport = pkt->dport;
	key->protocol = pkt->protocol;
	key->family = pkt->family;
	key->direction = direction;
	key->pad = 0;
}

/* The tuple the forward packet had, if this packet is its reply. */
static __always_inline void polc_ct_reply_key(const struct polc_packet *pkt, __u8 direction,
					      struct polc_ct_key *key)
{
	__builtin_memcpy(key->saddr, pkt->daddr, sizeof(key->saddr));
	__builtin_memcpy(key->daddr, pkt->saddr, sizeof(key->daddr));
	key->sport = pkt->dport;
	key->dport = pkt->sport;
	key->protocol = pkt->protocol;
	key->family = pkt->family;
	key->direction = polc_ct_opposite(direction);
	key->pad = 0;
}

/* True when the packet replies to a flow the other program let through. */
static __always_inline int polc_ct_is_reply(const struct polc_packet *pkt, __u8 direction)
{
	struct polc_ct_key key;
	struct polc_ct_value *entry;

	polc_ct_reply_key(pkt, direction, &key);
	entry = bpf_map_lookup_elem(&polc_ct, &key);
	if (!entry)
		return 0;
	entry->last_seen_ns = bpf_ktime_get_ns();
	return 1;
}

/* True when the packet is an ICMP error about a flow that the other program
 * let through: the embedded packet is that flow's forward packet, keyed as
 * the other program keyed it. */
static __always_inline int polc_ct_is_related(const struct polc_packet *pkt, __u8 direction)
{
	struct polc_ct_key key;

	if (!pkt->related.valid)
		return 0;
	__builtin_memcpy(key.saddr, pkt->related.saddr, sizeof(key.saddr));
	__builtin_memcpy(key.daddr, pkt->related.daddr, sizeof(key.daddr));
	key.sport = pkt->related.sport;
	key.dport = pkt->related.dport;
	key.protocol = pkt->related.protocol;
	key.family = pkt->family;
	key.direction = polc_ct_opposite(direction);
	key.pad = 0;
	/* An error refreshes nothing: it is not traffic of the flow. */
	return bpf_map_lookup_elem(&polc_ct, &key) != 0;
}

/* Opens or refreshes the entry of a forward packet that was let through. */
static __always_inline void polc_ct_track(const struct polc_packet *pkt, __u8 direction,
					  __u32 rule_id)
{
	struct polc_ct_key key;
	struct polc_ct_value *entry;
	struct polc_ct_value fresh = {};
	__u64 now = bpf_ktime_get_ns();

	polc_ct_forward_key(pkt, direction, &key);
	entry = bpf_map_lookup_elem(&polc_ct, &key);
	if (entry) {
		entry->last_seen_ns = now;
		entry->rule_id = rule_id;
		return;
	}
	fresh.created_ns = now;
	fresh.last_seen_ns = now;
	fresh.rule_id = rule_id;
	/* Losing a race with another CPU leaves that CPU's entry: equivalent. */
	bpf_map_update_elem(&polc_ct, &key, &fresh, BPF_NOEXIST);
}

#endif /* POLC_CONNTRACK_H */
