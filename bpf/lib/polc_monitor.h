/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Verdict events. Every place where an endpoint program decides a packet
 * (polc_account, polc_datapath.h) asks polc_monitor_wants() whether anybody
 * wants that kind of event, and only then builds one (polc_monitor_report).
 * With reporting off, or at a level below the packet's, the cost is one
 * array element read and a compare.
 *
 * Levels (polc_structs.h) are set at run time in polc_monitor_config, for
 * the node, and in polc_monitor_endpoints, per endpoint; max_level lets the
 * common case skip the per-endpoint hash. Each endpoint has a token bucket
 * (polc_event_bucket): a flood of denied packets costs a clock read per
 * packet, not a ring buffer record. What is suppressed or finds the ring
 * full is counted per CPU (polc_event_stats); the packet goes on either way.
 */
#ifndef POLC_MONITOR_H
#define POLC_MONITOR_H

#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "polc_lookup.h"
#include "polc_maps.h"
#include "polc_parse.h"

#define POLC_NS_PER_SEC 1000000000ull

/*
 * The endpoint's token bucket: global data of its object, which the loader
 * loads once per endpoint (its .rodata differs), so one bucket per endpoint,
 * shared by its two programs, reached without a map lookup. A reload that
 * replaces the programs starts a full bucket.
 */
struct polc_event_bucket polc_event_bucket;

/* Whether an event of `level` (POLC_MONITOR_DROPS for a denied packet,
 * FLOWS for a new allowed flow, ALL for the rest) is wanted for the
 * endpoint on `ifindex`. */
static __always_inline int polc_monitor_wants(const struct polc_monitor_config *config,
					      __u32 ifindex, __u8 level)
{
	struct polc_monitor_endpoint *endpoint;

	/* Zeroed config: drops for the node, nothing per endpoint. */
	if ((config->max_level ? config->max_level : POLC_MONITOR_DROPS) < level)
		return 0;
	if (config->flags & POLC_MONITOR_FLAG_ENDPOINT_LEVELS) {
		endpoint = bpf_map_lookup_elem(&polc_monitor_endpoints, &ifindex);
		if (endpoint && endpoint->level)
			return endpoint->level >= level;
	}
	return (config->level ? config->level : POLC_MONITOR_DROPS) >= level;
}

/* Whether the endpoint on `ifindex` is in audit mode: read only for a
 * packet that policy denies, and only when some endpoint is. */
static __always_inline int polc_audit_on(const struct polc_monitor_config *config, __u32 ifindex)
{
	struct polc_monitor_endpoint *endpoint;

	if (!(config->flags & POLC_MONITOR_FLAG_AUDIT))
		return 0;
	endpoint = bpf_map_lookup_elem(&polc_monitor_endpoints, &ifindex);
	return endpoint && endpoint->audit;
}

static __always_inline struct polc_event_stats *polc_event_stats_of_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&polc_event_stats, &zero);
}

/*
 * Takes a token from the endpoint's bucket; false when it is empty. The
 * bucket is refilled when found empty, with the tokens earned since the
 * last refill (rate x time, at most the burst), so that an event that finds
 * a token reads no clock. Two CPUs refilling at once may each add the same
 * interval: the limit is approximate under contention, never unbounded.
 */
static __always_inline int polc_event_take_token(const struct polc_monitor_config *config)
{
	struct polc_event_bucket *bucket = &polc_event_bucket;
	__u64 now, elapsed, tokens;
	__u64 rate = config->rate ? config->rate : POLC_EVENT_RATE;
	__u64 burst = config->burst ? config->burst : POLC_EVENT_BURST;

	if (bucket->tokens) {
		bucket->tokens--;
		return 1;
	}
	now = bpf_ktime_get_coarse_ns();
	elapsed = now - bucket->last_ns;
	/* A second (or a first event) fills the bucket at any rate: no
	 * overflow below. */
	if (!bucket->last_ns || elapsed >= POLC_NS_PER_SEC)
		tokens = burst;
	else
		tokens = elapsed * rate / POLC_NS_PER_SEC;
	if (!tokens)
		return 0;
	if (tokens > burst)
		tokens = burst;
	bucket->last_ns = now;
	bucket->tokens = tokens - 1;
	return 1;
}

/*
 * Sends the event of a packet. peer_identity POLC_IDENTITY_ANY: not looked
 * up on the way to the verdict (conntrack and wildcard-only paths), so
 * looked up here, where it costs only those who asked for the event.
 */
static __always_inline void polc_monitor_report(struct __sk_buff *skb,
						const struct polc_monitor_config *config,
						const struct polc_packet *pkt, __u8 direction,
						__u8 verdict, __u8 reason, __u32 rule_id,
						__u32 peer_identity, __u8 flags)
{
	struct polc_event_stats *stats = polc_event_stats_of_cpu();
	struct polc_event *event;

	if (!polc_event_take_token(config)) {
		if (stats)
			stats->limited++;
		return;
	}
	event = bpf_ringbuf_reserve(&polc_events, sizeof(*event), 0);
	if (!event) {
		if (stats)
			stats->lost++;
		return;
	}
	if (peer_identity == POLC_IDENTITY_ANY && pkt->family)
		peer_identity = polc_ipcache_identity(
		    pkt->family, direction == POLC_CT_EGRESS ? pkt->daddr : pkt->saddr);
	event->time_ns = bpf_ktime_get_coarse_ns();
	event->ifindex = skb->ifindex;
	event->rule_id = rule_id;
	event->peer_identity = peer_identity;
	event->length = skb->len;
	__builtin_memcpy(event->saddr, pkt->saddr, sizeof(event->saddr));
	__builtin_memcpy(event->daddr, pkt->daddr, sizeof(event->daddr));
	if (pkt->protocol == IPPROTO_ICMP || pkt->protocol == POLC_IPPROTO_ICMPV6) {
		event->sport = 0;
		event->dport = pkt->policy_port;
	} else {
		event->sport = pkt->sport;
		event->dport = pkt->dport;
	}
	event->protocol = pkt->protocol;
	event->family = pkt->family;
	event->direction = direction;
	event->verdict = verdict;
	event->reason = reason;
	event->flags = flags;
	__builtin_memset(event->pad, 0, sizeof(event->pad));
	event->frontend_id = pkt->frontend_id;
	/* Never wake the reader: a wakeup is an irq_work (an IPI, a VM exit
	 * under a hypervisor) that costs more than the event; the reader
	 * reads on a timer (POLC_EVENTS_POLL_MS) instead. */
	bpf_ringbuf_submit(event, BPF_RB_NO_WAKEUP);
	if (stats)
		stats->sent++;
}

#endif /* POLC_MONITOR_H */
