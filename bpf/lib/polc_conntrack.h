/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Conntrack: recognizes replies of flows that one of the endpoint's two
 * programs let through. An entry is keyed by the tuple as its creating
 * program saw it plus that program's direction; the other program finds it
 * by looking up the reversed tuple with the opposite direction.
 *
 * A forward packet of a flow passes on its entry alone (no ipcache or
 * policy lookup) when the entry was written under the node's current policy
 * epoch (polc_epoch). The loader bumps the epoch after every load, once the
 * new tables and programs are in place, so the first packet of each flow
 * after a policy change is judged by policy again: re-stamped if still
 * allowed, dropped if not. The epoch is read before the policy lookups, so a
 * judgement that raced with a load carries the older epoch and is redone.
 *
 * Entries do not expire here: the LRU evicts them. last_seen_ns is written
 * only when it is more than POLC_CT_REFRESH_NS old, not on every packet
 * (each write bounces the entry's cache line between CPUs). Times come from
 * the coarse clock (the last tick's, Linux 5.11+): reading the precise one
 * costs tens of ns per packet under a hypervisor's clocksource.
 */
#ifndef POLC_CONNTRACK_H
#define POLC_CONNTRACK_H

#include "polc_maps.h"
#include "polc_parse.h"

/* How stale last_seen_ns may get before a packet of the flow rewrites it. */
#define POLC_CT_REFRESH_NS 1000000000ull

/* The node's policy epoch; 0 until a loader has bumped it. */
static __always_inline __u32 polc_policy_epoch(void)
{
	__u32 zero = 0;
	struct polc_epoch_value *value = bpf_map_lookup_elem(&polc_epoch, &zero);

	return value ? value->epoch : 0;
}

/* Marks the entry seen now, unless it was seen recently enough. */
static __always_inline void polc_ct_refresh(struct polc_ct_value *entry)
{
	__u64 now = bpf_ktime_get_coarse_ns();

	if (now - entry->last_seen_ns > POLC_CT_REFRESH_NS)
		entry->last_seen_ns = now;
}

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

/* The entry of the flow the other program let through that this packet
 * replies to, or NULL. */
static __always_inline struct polc_ct_value *polc_ct_reply_entry(const struct polc_packet *pkt,
								 __u8 direction)
{
	struct polc_ct_key key;
	struct polc_ct_value *entry;

	polc_ct_reply_key(pkt, direction, &key);
	entry = bpf_map_lookup_elem(&polc_ct, &key);
	if (entry)
		polc_ct_refresh(entry);
	return entry;
}

/* The entry of the flow this packet is a forward packet of, or NULL. */
static __always_inline struct polc_ct_value *polc_ct_lookup_forward(const struct polc_packet *pkt,
								    __u8 direction)
{
	struct polc_ct_key key;

	polc_ct_forward_key(pkt, direction, &key);
	return bpf_map_lookup_elem(&polc_ct, &key);
}

/* True when the flow's entry was written under the current policy epoch:
 * the packet may pass without a policy lookup. */
static __always_inline int polc_ct_is_established(struct polc_ct_value *entry, __u32 epoch)
{
	if (!entry || (entry->epoch & POLC_CT_EPOCH_MASK) != epoch)
		return 0;
	polc_ct_refresh(entry);
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

/* Opens the entry of a forward packet that policy let through, or stamps
 * its flow's entry (found by polc_ct_lookup_forward) with the epoch it was
 * judged under. */
static __always_inline void polc_ct_track(const struct polc_packet *pkt, __u8 direction,
					  struct polc_ct_value *entry, __u32 rule_id, __u32 epoch)
{
	struct polc_ct_key key;
	struct polc_ct_value fresh = {};
	__u64 now = bpf_ktime_get_coarse_ns();

	if (entry) {
		entry->last_seen_ns = now;
		entry->rule_id = rule_id;
		entry->epoch = epoch;
		return;
	}
	polc_ct_forward_key(pkt, direction, &key);
	fresh.created_ns = now;
	fresh.last_seen_ns = now;
	fresh.rule_id = rule_id;
	fresh.epoch = epoch;
	/* Losing a race with another CPU leaves that CPU's entry: equivalent. */
	bpf_map_update_elem(&polc_ct, &key, &fresh, BPF_NOEXIST);
}

#endif /* POLC_CONNTRACK_H */
