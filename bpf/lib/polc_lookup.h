/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ipcache and policy lookups. Both are LPM trie lookups with a fully
 * specified key, so the trie returns the longest stored prefix covering it.
 */
#ifndef POLC_LOOKUP_H
#define POLC_LOOKUP_H

#include "polc_features.h"
#include "polc_maps.h"
#include "polc_parse.h"

/* Identity of an address: the longest ipcache prefix, else WORLD. */
static __always_inline __u32 polc_ipcache_identity(__u8 family, const __u32 *addr)
{
	struct polc_ipcache_key key = {};
	struct polc_ipcache_value *value;

	key.family = family;
	if (!POLC_IPV6 || family == POLC_FAMILY_IPV4) {
		key.prefixlen = POLC_IPCACHE_PREFIX_BASE + 32;
		key.addr[0] = addr[0];
	} else {
		key.prefixlen = POLC_IPCACHE_PREFIX_BASE + 128;
		key.addr[0] = addr[0];
		key.addr[1] = addr[1];
		key.addr[2] = addr[2];
		key.addr[3] = addr[3];
	}
	value = bpf_map_lookup_elem(&polc_ipcache, &key);
	return value ? value->identity : POLC_IDENTITY_WORLD;
}

struct polc_policy_result {
	__u8 verdict; /* POLC_VERDICT_*, 0 = no entry matched */
	__u32 rule_id;
};

static __always_inline struct polc_policy_value *polc_policy_entry(void *policy_map, __u32 identity,
								   const struct polc_packet *pkt)
{
	struct polc_policy_key key = {};

	/* Without a meaningful port only the protocol-wide entries may match. */
	key.prefixlen =
	    pkt->policy_port_known ? POLC_POLICY_PREFIX_FULL : POLC_POLICY_PREFIX_PROTOCOL;
	key.identity = identity;
	key.protocol = pkt->protocol;
	key.dport = pkt->policy_port_known ? pkt->policy_port : 0;
	return bpf_map_lookup_elem(policy_map, &key);
}

/* What one candidate peer (the exact one or the wildcard) matched. */
struct polc_policy_match {
	__u8 verdict; /* POLC_VERDICT_*, 0 = nothing */
	__u32 rule_id;
};

/* A deny from either candidate wins, else an allow from either (the exact
 * peer's rule id first), else no match. */
static __always_inline struct polc_policy_result
polc_policy_combine(struct polc_policy_match exact, struct polc_policy_match wildcard)
{
	struct polc_policy_result result = {};

	if (exact.verdict == POLC_VERDICT_DENY) {
		result.verdict = POLC_VERDICT_DENY;
		result.rule_id = exact.rule_id;
	} else if (wildcard.verdict == POLC_VERDICT_DENY) {
		result.verdict = POLC_VERDICT_DENY;
		result.rule_id = wildcard.rule_id;
	} else if (exact.verdict == POLC_VERDICT_ALLOW) {
		result.verdict = POLC_VERDICT_ALLOW;
		result.rule_id = exact.rule_id;
	} else if (wildcard.verdict == POLC_VERDICT_ALLOW) {
		result.verdict = POLC_VERDICT_ALLOW;
		result.rule_id = wildcard.rule_id;
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
 * Looks up the exact peer identity and the wildcard and combines them
 * (polc_policy_combine). peer_lookup / wildcard_lookup = 0 skip a lookup
 * that the table has no entry for (compile-time constants, polc_features.h).
 */
static __always_inline struct polc_policy_result
polc_policy_lookup(void *policy_map, __u32 peer_identity, const struct polc_packet *pkt,
		   const int peer_lookup, const int wildcard_lookup)
{
	struct polc_policy_match exact = {}, wildcard = {};

	if (peer_lookup)
		exact = polc_policy_match_of(polc_policy_entry(policy_map, peer_identity, pkt));
	if (wildcard_lookup)
		wildcard =
		    polc_policy_match_of(polc_policy_entry(policy_map, POLC_IDENTITY_ANY, pkt));
	return polc_policy_combine(exact, wildcard);
}

#endif /* POLC_LOOKUP_H */
