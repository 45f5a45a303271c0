/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ipcache and policy lookups. Both maps are hashes keyed by a prefix (its
 * length and its masked bits); a longest-prefix match is one probe per
 * prefix length in use, longest first, the first hit winning. A probe
 * costs the same whatever the map holds, so the cost of a lookup depends
 * on how many distinct prefix lengths are in use (and where the match
 * is), not on how many prefixes or rules there are:
 *  - ipcache: the lengths in use are node-wide and change with the
 *    cluster, so they are data (polc_ipcache_lengths), walked by a bounded
 *    loop. A packet from an endpoint (a /32 or /128) is one probe when
 *    host entries are the longest in use; WORLD is a miss of every length.
 *  - policy: the lengths a table holds are the endpoint's shape, compiled
 *    in (POLC_<DIR>_POLICY_PREFIXES), so the probes are unrolled and the
 *    ones no entry can match are not emitted.
 */
#ifndef POLC_LOOKUP_H
#define POLC_LOOKUP_H

#include <bpf/bpf_endian.h>

#include "polc_features.h"
#include "polc_maps.h"
#include "polc_parse.h"

/*
 * Identity of an address: the longest ipcache prefix, else WORLD.
 * A global function, so that the verifier checks its loops once, on their
 * own: inlined, every way out of the IPv6 loop (129 of them) would be
 * followed through the rest of the program. The call itself costs a few
 * instructions.
 */
__attribute__((noinline)) __u32 polc_ipcache_identity_of(__u8 family, __u32 addr0, __u32 addr1,
							 __u32 addr2, __u32 addr3)
{
	struct polc_ipcache_key key = {.family = family};
	struct polc_ipcache_lengths *lengths;
	struct polc_ipcache_value *value;
	__u32 zero = 0, i;

	lengths = bpf_map_lookup_elem(&polc_ipcache_lengths, &zero);
	if (!lengths)
		return POLC_IDENTITY_WORLD;
	if (family == POLC_FAMILY_IPV4) {
		for (i = 0; i < POLC_IPCACHE_V4_LENGTHS && i < lengths->v4_count; i++) {
			key.prefixlen = lengths->v4[i];
			key.addr[0] = addr0 & lengths->v4_mask[i];
			value = bpf_map_lookup_elem(&polc_ipcache, &key);
			if (value)
				return value->identity;
		}
		return POLC_IDENTITY_WORLD;
	}
	for (i = 0; i < POLC_IPCACHE_V6_LENGTHS && i < lengths->v6_count; i++) {
		key.prefixlen = lengths->v6[i];
		key.addr[0] = addr0 & lengths->v6_mask[i][0];
		key.addr[1] = addr1 & lengths->v6_mask[i][1];
		key.addr[2] = addr2 & lengths->v6_mask[i][2];
		key.addr[3] = addr3 & lengths->v6_mask[i][3];
		value = bpf_map_lookup_elem(&polc_ipcache, &key);
		if (value)
			return value->identity;
	}
	return POLC_IDENTITY_WORLD;
}

static __always_inline __u32 polc_ipcache_identity(__u8 family, const __u32 *addr)
{
	if (!POLC_IPV6 || family == POLC_FAMILY_IPV4)
		return polc_ipcache_identity_of(POLC_FAMILY_IPV4, addr[0], 0, 0, 0);
	return polc_ipcache_identity_of(family, addr[0], addr[1], addr[2], addr[3]);
}

struct polc_policy_result {
	__u8 verdict; /* POLC_VERDICT_*, 0 = no entry matched */
	__u32 rule_id;
};

static __always_inline struct polc_policy_value *
polc_policy_probe(void *policy_map, __u32 identity, __u8 protocol, __u8 prefixlen, __u16 dport)
{
	struct polc_policy_key key = {
	    .identity = identity,
	    .protocol = protocol,
	    .prefixlen = prefixlen,
	    .dport = dport,
	};

	return bpf_map_lookup_elem(policy_map, &key);
}

/* What one candidate peer (the exact one or the wildcard) matched. */
struct polc_policy_match {
	__u8 verdict; /* POLC_VERDICT_*, 0 = nothing */
	__u32 rule_id;
};

/* The verdict of higher precedence wins (deny, audit, allow: POLC_VERDICT_*
 * are in that order), the exact peer's on a tie; 0 = no match. */
static __always_inline struct polc_policy_result
polc_policy_combine(struct polc_policy_match exact, struct polc_policy_match wildcard)
{
	struct polc_policy_result result = {};

	if (wildcard.verdict > exact.verdict) {
		result.verdict = wildcard.verdict;
		result.rule_id = wildcard.rule_id;
	} else {
		result.verdict = exact.verdict;
		result.rule_id = exact.rule_id;
	}
	return result;
}

static __always_inline struct polc_policy_match
polc_policy_match_of(struct polc_policy_value *value)
{
	struct polc_policy_match match = {};

	if (value) {
		match.verdict = value->verdict;
		match.rule_id = value->rule_id;
	}
	return match;
}

/*
 * The longest entry of `identity` that covers the packet: the prefix
 * lengths in `prefixes` (a compile-time constant) probed from 64 down to
 * 48, then 32. Without a meaningful port only the protocol-wide (48) and
 * peer-wide (32) entries may match.
 */
static __always_inline struct polc_policy_value *polc_policy_entry(void *policy_map, __u32 identity,
								   const struct polc_packet *pkt,
								   const __u64 prefixes)
{
	struct polc_policy_value *value;
	int bits;

	if (pkt->policy_port_known) {
#pragma unroll
		for (bits = 16; bits > 0; bits--) {
			if (!(prefixes &
			      POLC_POLICY_PREFIX_BIT(POLC_POLICY_PREFIX_PROTOCOL + bits)))
				continue;
			value = polc_policy_probe(
			    policy_map, identity, pkt->protocol, POLC_POLICY_PREFIX_PROTOCOL + bits,
			    pkt->policy_port & bpf_htons((__u16)(0xffffu << (16 - bits))));
			if (value)
				return value;
		}
	}
	if (prefixes & POLC_POLICY_PREFIX_BIT(POLC_POLICY_PREFIX_PROTOCOL)) {
		value = polc_policy_probe(policy_map, identity, pkt->protocol,
					  POLC_POLICY_PREFIX_PROTOCOL, 0);
		if (value)
			return value;
	}
	if (prefixes & POLC_POLICY_PREFIX_BIT(POLC_POLICY_PREFIX_IDENTITY))
		return polc_policy_probe(policy_map, identity, 0, POLC_POLICY_PREFIX_IDENTITY, 0);
	return 0;
}

/*
 * Looks up the exact peer identity and the wildcard and combines them
 * (polc_policy_combine). peer_lookup / wildcard_lookup = 0 skip a lookup
 * that the table has no entry for; prefixes are the key prefix lengths the
 * table holds (compile-time constants, polc_features.h).
 */
static __always_inline struct polc_policy_result
polc_policy_lookup(void *policy_map, __u32 peer_identity, const struct polc_packet *pkt,
		   const int peer_lookup, const int wildcard_lookup, const __u64 prefixes)
{
	struct polc_policy_match exact = {}, wildcard = {};

	if (peer_lookup)
		exact = polc_policy_match_of(
		    polc_policy_entry(policy_map, peer_identity, pkt, prefixes));
	if (wildcard_lookup)
		wildcard = polc_policy_match_of(
		    polc_policy_entry(policy_map, POLC_IDENTITY_ANY, pkt, prefixes));
	return polc_policy_combine(exact, wildcard);
}

#endif /* POLC_LOOKUP_H */
