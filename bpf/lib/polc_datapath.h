/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The per-packet logic of an endpoint program. Generated C defines the
 * feature macros of polc_features.h, includes this header and instantiates
 * POLC_FROM_ENDPOINT_PROGRAM / POLC_TO_ENDPOINT_PROGRAM, which call
 * polc_handle_packet() with compile-time constants, so the compiler folds
 * the direction, isolation and lookup branches away; the endpoint's
 * identity is load-time config (polc_endpoint_identity below).
 */
#ifndef POLC_DATAPATH_H
#define POLC_DATAPATH_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

#include "polc_conntrack.h"
#include "polc_counters.h"
#include "polc_features.h"
#include "polc_inline_policy.h"
#include "polc_lookup.h"
#include "polc_maps.h"
#include "polc_monitor.h"
#include "polc_parse.h"
#include "polc_structs.h"
#if POLC_SERVICES
#include "polc_refuse.h"
#include "polc_service.h"
#endif

/*
 * Values that differ between endpoints but do not change the code are
 * read-only config in .rodata, set by the loader before the object is loaded
 * (the verifier then sees them as constants), not baked into the generated C:
 * endpoints whose C would differ only in them share one object.
 * The names are the loader's kConfig* constants (artifacts/manifest.h).
 */
const volatile __u32 polc_endpoint_identity = 0;

/* A packet's verdict, seen: counted (polc_counters.h) unless counting is
 * off, and reported when an event of `level` is wanted (polc_monitor.h). */
static __always_inline void polc_account_with(const struct polc_monitor_config *config,
					      struct __sk_buff *skb, const struct polc_packet *pkt,
					      __u8 direction, __u8 level, __u8 verdict, __u8 reason,
					      __u32 rule_id, __u32 peer_identity, __u8 flags)
{
	if (config->counting != POLC_COUNTING_OFF)
		polc_count_packet(skb->ifindex, rule_id,
				  POLC_COUNT_WHAT(direction, reason, verdict), skb->len);
	if (polc_monitor_wants(config, skb->ifindex, level))
		polc_monitor_report(skb, config, pkt, direction, verdict, reason, rule_id,
				    peer_identity, flags);
}

static __always_inline struct polc_monitor_config *polc_monitor_config_of_node(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&polc_monitor_config, &zero);
}

static __always_inline void polc_account(struct __sk_buff *skb, const struct polc_packet *pkt,
					 __u8 direction, __u8 level, __u8 verdict, __u8 reason,
					 __u32 rule_id, __u32 peer_identity, __u8 flags)
{
	struct polc_monitor_config *config = polc_monitor_config_of_node();

	if (config)
		polc_account_with(config, skb, pkt, direction, level, verdict, reason, rule_id,
				  peer_identity, flags);
}

/*
 * What policy denies (a deny rule, the default deny of an isolated
 * direction): dropped, or in audit mode passed, and either way counted and
 * reported as such. An audited packet opens no conntrack entry: every
 * packet of its flow is judged, so that turning audit off enforces at once.
 */
static __always_inline int polc_policy_denies(struct __sk_buff *skb, const struct polc_packet *pkt,
					      __u8 direction, __u8 reason, __u32 rule_id,
					      __u32 peer_identity)
{
	struct polc_monitor_config *config = polc_monitor_config_of_node();

	if (!config)
		return TC_ACT_SHOT;
	if (polc_audit_on(config, skb->ifindex)) {
		polc_account_with(config, skb, pkt, direction, POLC_MONITOR_DROPS,
				  POLC_EVENT_VERDICT_AUDIT, reason, rule_id, peer_identity, 0);
		return TC_ACT_OK;
	}
	polc_account_with(config, skb, pkt, direction, POLC_MONITOR_DROPS,
			  POLC_EVENT_VERDICT_DENIED, reason, rule_id, peer_identity, 0);
	return TC_ACT_SHOT;
}

/*
 * direction: POLC_CT_EGRESS for polc_from_ep (tc ingress hook, packets
 *            leaving the endpoint), POLC_CT_INGRESS for polc_to_ep.
 * isolated:  an unmatched or unparseable IP packet is dropped.
 * audit_isolated: isolated by audit policies only: an unmatched packet
 *            passes as audit (never together with isolated).
 * peer_lookup, wildcard_lookup: which policy lookups the direction's table
 *            needs (polc_features.h); with neither, every packet that is
 *            not dropped as isolated passes.
 * inline_table, inline_entries: the table compiled in as code
 *            (polc_inline_policy.h); 0 entries = look up the policy map.
 * policy_prefixes: the key prefix lengths the table holds (polc_features.h).
 * endpoint_identity: the endpoint's own identity (reserved for counters;
 *            the verdict depends only on the peer).
 * Every argument but skb is a compile-time or load-time constant.
 */
static __always_inline int polc_handle_packet(struct __sk_buff *skb, const __u8 direction,
					      const int isolated, const int audit_isolated,
					      const int peer_lookup, const int wildcard_lookup,
					      const volatile struct polc_inline_entry *inline_table,
					      const int inline_entries, const __u64 policy_prefixes,
					      const __u32 endpoint_identity)
{
	void *policy_map =
	    direction == POLC_CT_EGRESS ? (void *)&polc_policy_eg : (void *)&polc_policy_in;
	struct polc_packet pkt = {};
	struct polc_policy_result policy = {};
	struct polc_ct_value *flow = 0;
	__u32 peer_identity = POLC_IDENTITY_ANY;
	__u32 epoch = 0; /* read only for packets that may open a flow */
	__u32 nat = 0;	 /* POLC_CT_EPOCH_NAT for a packet translated to a backend */
	__u8 reason, verdict, level, flags;
	int parsed;

	(void)endpoint_identity;
	(void)nat;

	/* Without IPv6 (POLC_IPV6 0) both directions are equally isolated: an
	 * open program passes IPv6 unparsed, an isolated one parses it only so
	 * that neighbour discovery still passes. */
	parsed = polc_parse_packet(skb, &pkt, POLC_IPV6 || isolated);
	if (parsed == POLC_PARSE_NOT_IP || parsed == POLC_PARSE_PASS)
		return TC_ACT_OK;
	if (parsed != POLC_PARSE_OK) {
		if (!isolated)
			return TC_ACT_OK;
		polc_account(skb, &pkt, direction, POLC_MONITOR_DROPS, POLC_EVENT_VERDICT_DENIED,
			     POLC_REASON_MALFORMED, POLC_CT_RULE_NONE, POLC_IDENTITY_UNKNOWN, 0);
		return TC_ACT_SHOT;
	}
	/* No rule matches an IPv6 peer and no IPv6 flow is ever tracked. */
	if (!POLC_IPV6 && pkt.family == POLC_FAMILY_IPV6) {
		polc_account(skb, &pkt, direction, POLC_MONITOR_DROPS, POLC_EVENT_VERDICT_DENIED,
			     POLC_REASON_NO_IPV6, POLC_CT_RULE_NONE, POLC_IDENTITY_UNKNOWN, 0);
		return TC_ACT_SHOT;
	}

	/* Replies pass before policy: the reply direction may be isolated. */
	if (pkt.ct_may_be_reply) {
		struct polc_ct_value *replied = polc_ct_reply_entry(&pkt, direction);

		if (replied) {
#if POLC_SERVICES
			/* A reply of a flow to a service comes from the vip. */
			if (direction == POLC_CT_INGRESS && (replied->epoch & POLC_CT_EPOCH_NAT) &&
			    polc_service_reverse(skb, &pkt) < 0)
				return TC_ACT_SHOT;
#endif
			polc_account(skb, &pkt, direction, POLC_MONITOR_ALL,
				     POLC_EVENT_VERDICT_ALLOWED, POLC_REASON_CT_REPLY,
				     POLC_CT_RULE_NONE, POLC_IDENTITY_ANY, 0);
			return TC_ACT_OK;
		}
	}

#if POLC_SERVICES
	/* A packet to a service is judged, tracked and sent as the packet to
	 * its backend. */
	if (direction == POLC_CT_EGRESS) {
		int service = polc_service_translate(skb, &pkt);

		if (service == POLC_SERVICE_TRANSLATED) {
			nat = POLC_CT_EPOCH_NAT;
		} else if (service == POLC_SERVICE_NO_BACKEND) {
			/* Refused at once, never black-holed (polc_refuse.h). */
			polc_account(skb, &pkt, direction, POLC_MONITOR_DROPS,
				     POLC_EVENT_VERDICT_DENIED, POLC_REASON_NO_BACKEND,
				     POLC_CT_RULE_NONE, POLC_IDENTITY_ANY, 0);
			return polc_refuse(skb, &pkt);
		} else if (service == POLC_SERVICE_FAILED) {
			polc_account(skb, &pkt, direction, POLC_MONITOR_DROPS,
				     POLC_EVENT_VERDICT_DENIED, POLC_REASON_MALFORMED,
				     POLC_CT_RULE_NONE, POLC_IDENTITY_ANY, 0);
			return TC_ACT_SHOT;
		}
	}
#endif

	/* A flow already judged under the current epoch passes (the epoch is
	 * read first: see polc_conntrack.h). */
	if (pkt.ct_may_create) {
		epoch = polc_policy_epoch();
		flow = polc_ct_lookup_forward(&pkt, direction);
		if (polc_ct_is_established(flow, epoch)) {
			/* An audited flow's every packet is what policy would drop. */
			if (flow->epoch & POLC_CT_EPOCH_AUDITED)
				polc_account(skb, &pkt, direction, POLC_MONITOR_DROPS,
					     POLC_EVENT_VERDICT_AUDIT, POLC_REASON_CT_ESTABLISHED,
					     flow->rule_id, POLC_IDENTITY_ANY, 0);
			else
				polc_account(skb, &pkt, direction, POLC_MONITOR_ALL,
					     POLC_EVENT_VERDICT_ALLOWED, POLC_REASON_CT_ESTABLISHED,
					     flow->rule_id, POLC_IDENTITY_ANY, 0);
			return TC_ACT_OK;
		}
	}

	if (isolated || audit_isolated || peer_lookup || wildcard_lookup) {
		/* So do ICMP errors about such a flow (port unreachable, packet
		 * too big: IPv6 path MTU discovery depends on it); other errors
		 * meet policy. */
		if (polc_ct_is_related(&pkt, direction)) {
			polc_account(skb, &pkt, direction, POLC_MONITOR_ALL,
				     POLC_EVENT_VERDICT_ALLOWED, POLC_REASON_CT_RELATED,
				     POLC_CT_RULE_NONE, POLC_IDENTITY_ANY, 0);
			return TC_ACT_OK;
		}

		/* The peer is whom the endpoint talks to: the destination of
		 * what it sends, the source of what it receives. */
		if (peer_lookup)
			peer_identity = polc_ipcache_identity(
			    pkt.family, direction == POLC_CT_EGRESS ? pkt.daddr : pkt.saddr);
		if (inline_entries)
			policy =
			    polc_inline_policy_lookup(inline_table, inline_entries, peer_identity,
						      &pkt, peer_lookup, wildcard_lookup);
		else
			policy = polc_policy_lookup(policy_map, peer_identity, &pkt, peer_lookup,
						    wildcard_lookup, policy_prefixes);
	}

	if (policy.verdict == POLC_VERDICT_DENY)
		return polc_policy_denies(skb, &pkt, direction, POLC_REASON_RULE, policy.rule_id,
					  peer_identity);
	reason = POLC_REASON_RULE;
	verdict = POLC_EVENT_VERDICT_ALLOWED;
	if (policy.verdict == POLC_VERDICT_AUDIT) {
		verdict = POLC_EVENT_VERDICT_AUDIT;
	} else if (policy.verdict != POLC_VERDICT_ALLOW) {
		if (isolated)
			return polc_policy_denies(skb, &pkt, direction, POLC_REASON_DEFAULT_DENY,
						  POLC_CT_RULE_NONE, peer_identity);
		policy.rule_id = POLC_CT_RULE_NONE;
		reason = audit_isolated ? POLC_REASON_DEFAULT_DENY : POLC_REASON_NO_RULE;
		if (audit_isolated)
			verdict = POLC_EVENT_VERDICT_AUDIT;
	}
	/* Track even unmatched flows of a non-isolated direction, so that
	 * their replies pass the isolated one; audited ones too (an audit
	 * policy must not break the connections it reports), marked. */
	if (pkt.ct_may_create)
		polc_ct_track(
		    &pkt, direction, flow, policy.rule_id,
		    (verdict == POLC_EVENT_VERDICT_AUDIT ? epoch | POLC_CT_EPOCH_AUDITED : epoch) |
			nat);
	/* An audited packet is reported as a drop would be; otherwise the
	 * first packet of a flow is what the flows level reports. */
	flags = pkt.ct_may_create && !flow ? POLC_EVENT_FLAG_NEW_FLOW : 0;
	if (verdict == POLC_EVENT_VERDICT_AUDIT)
		level = POLC_MONITOR_DROPS;
	else
		level = flags ? POLC_MONITOR_FLOWS : POLC_MONITOR_ALL;
	polc_account(skb, &pkt, direction, level, verdict, reason, policy.rule_id, peer_identity,
		     flags);
	return TC_ACT_OK;
}

/* The two programs, as the generated C instantiates them. */
#define POLC_FROM_ENDPOINT_PROGRAM(skb)                                                            \
	polc_handle_packet(skb, POLC_CT_EGRESS, POLC_EGRESS_ISOLATED, POLC_EGRESS_AUDIT_ISOLATED,  \
			   POLC_EGRESS_PEER_LOOKUP, POLC_EGRESS_WILDCARD_LOOKUP,                   \
			   POLC_EGRESS_INLINE_TABLE, POLC_EGRESS_INLINE_ENTRIES,                   \
			   POLC_EGRESS_POLICY_PREFIXES, polc_endpoint_identity)
#define POLC_TO_ENDPOINT_PROGRAM(skb)                                                              \
	polc_handle_packet(                                                                        \
	    skb, POLC_CT_INGRESS, POLC_INGRESS_ISOLATED, POLC_INGRESS_AUDIT_ISOLATED,              \
	    POLC_INGRESS_PEER_LOOKUP, POLC_INGRESS_WILDCARD_LOOKUP, POLC_INGRESS_INLINE_TABLE,     \
	    POLC_INGRESS_INLINE_ENTRIES, POLC_INGRESS_POLICY_PREFIXES, polc_endpoint_identity)

#endif /* POLC_DATAPATH_H */
