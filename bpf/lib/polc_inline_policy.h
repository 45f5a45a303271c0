/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Tiny policy tables compiled in as code. Where a direction's table has only
 * a few entries (POLC_<DIR>_INLINE_ENTRIES > 0), comparing the packet with
 * each of them is cheaper than a map lookup (bench/codegen measures both).
 * The entries are not baked into the C: they are .rodata that the loader
 * sets before loading, so endpoints whose tables differ only in values still
 * share one object, and the verifier sees every entry as a constant. The
 * price: a changed inline table means loading the program again (with the
 * same object), where a map is updated in place.
 */
#ifndef POLC_INLINE_POLICY_H
#define POLC_INLINE_POLICY_H

#include "polc_features.h"
#include "polc_lookup.h"
#include "polc_parse.h"
#include "polc_structs.h"

/* The slots of each direction, filled by the loader (artifacts/manifest.h
 * names them kConfigInline*). A direction with a policy map has none. */
#if POLC_INGRESS_INLINE_ENTRIES
const volatile struct polc_inline_entry polc_inline_policy_in[POLC_INGRESS_INLINE_ENTRIES] = {};
#define POLC_INGRESS_INLINE_TABLE polc_inline_policy_in
#else
#define POLC_INGRESS_INLINE_TABLE ((const volatile struct polc_inline_entry *)0)
#endif
#if POLC_EGRESS_INLINE_ENTRIES
const volatile struct polc_inline_entry polc_inline_policy_eg[POLC_EGRESS_INLINE_ENTRIES] = {};
#define POLC_EGRESS_INLINE_TABLE polc_inline_policy_eg
#else
#define POLC_EGRESS_INLINE_TABLE ((const volatile struct polc_inline_entry *)0)
#endif

static __always_inline int polc_inline_entry_matches(const volatile struct polc_inline_entry *entry,
						     const struct polc_packet *pkt)
{
	__u16 port_mask = entry->port_mask;

	if (!entry->verdict)
		return 0;
	if ((pkt->protocol & entry->protocol_mask) != entry->protocol)
		return 0;
	/* Without a meaningful port only protocol-wide entries match, as in
	 * the map lookup (polc_policy_entry). */
	if (port_mask && !pkt->policy_port_known)
		return 0;
	return (pkt->policy_port & port_mask) == entry->dport;
}

/*
 * The same answer as polc_policy_lookup on a map holding the entries: the
 * first (longest-prefix) match for the exact peer and for the wildcard, then
 * the higher precedence of the two wins. `count` is a compile-time constant, so the loop
 * unrolls into straight-line compares.
 */
static __always_inline struct polc_policy_result
polc_inline_policy_lookup(const volatile struct polc_inline_entry *entries, const int count,
			  __u32 peer_identity, const struct polc_packet *pkt, const int peer_lookup,
			  const int wildcard_lookup)
{
	struct polc_policy_match exact = {}, wildcard = {};
	int i;

#pragma unroll
	for (i = 0; i < count; i++) {
		__u32 identity = entries[i].identity;

		if (peer_lookup && !exact.verdict && identity == peer_identity &&
		    polc_inline_entry_matches(&entries[i], pkt)) {
			exact.verdict = entries[i].verdict;
			exact.rule_id = entries[i].rule_id;
		}
		if (wildcard_lookup && !wildcard.verdict && identity == POLC_IDENTITY_ANY &&
		    polc_inline_entry_matches(&entries[i], pkt)) {
			wildcard.verdict = entries[i].verdict;
			wildcard.rule_id = entries[i].rule_id;
		}
	}
	return polc_policy_combine(exact, wildcard);
}

#endif /* POLC_INLINE_POLICY_H */
