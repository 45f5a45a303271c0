/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Map key/value layouts shared by the generated BPF C, bpf/lib and the
 * userspace loader. This header is the single source of truth: the loader
 * includes it from C++, the datapath from C, and both check the sizes.
 */
#ifndef POLC_STRUCTS_H
#define POLC_STRUCTS_H

#include <linux/types.h>

/* Reserved security identities. 0 is never a real identity: in policy
 * tables it is the "any peer" wildcard. Endpoint identities start at
 * POLC_IDENTITY_FIRST_ENDPOINT; an address in no ipcache prefix is WORLD. */
#define POLC_IDENTITY_ANY 0u
#define POLC_IDENTITY_HOST 1u
#define POLC_IDENTITY_WORLD 2u
#define POLC_IDENTITY_UNKNOWN 3u
#define POLC_IDENTITY_REMOTE_NODE 4u /* the address of another node of the cluster */
#define POLC_IDENTITY_FIRST_ENDPOINT 256u
/* Identities of CIDR prefixes and service addresses (ipcache entries that
 * are not endpoints) live above the 24-bit endpoint space. */
#define POLC_IDENTITY_FIRST_PREFIX (1u << 24)

#define POLC_FAMILY_IPV4 4
#define POLC_FAMILY_IPV6 6

/* Ordered by precedence: where the exact peer's and the wildcard's entries
 * meet, the greater wins (polc_policy_combine). AUDIT: an audit policy's
 * deny where the enforcing policies allow; the packet passes, reported. */
#define POLC_VERDICT_ALLOW 1
#define POLC_VERDICT_AUDIT 2
#define POLC_VERDICT_DENY 3

/* Conntrack directions: which of the endpoint's programs created the entry. */
#define POLC_CT_EGRESS 1  /* packet leaving the endpoint (tc ingress hook) */
#define POLC_CT_INGRESS 2 /* packet entering the endpoint (tc egress hook) */

/*
 * ipcache: hash from an address prefix to a security identity, one entry per
 * prefix, the address masked to prefixlen (0..32 for IPv4, 0..128 for IPv6).
 * The datapath probes it once per prefix length in use, longest first
 * (polc_ipcache_lengths), so the first hit is the longest matching prefix.
 * An IPv4 address lives in addr[0].
 */
struct polc_ipcache_key {
	__u8 family;
	__u8 prefixlen;
	__u8 pad[2];   /* always 0 */
	__u32 addr[4]; /* network byte order, zero beyond prefixlen */
};

struct polc_ipcache_value {
	__u32 identity;
};

#define POLC_IPCACHE_V4_LENGTHS 33  /* /0 .. /32 */
#define POLC_IPCACHE_V6_LENGTHS 129 /* /0 .. /128 */

/*
 * The prefix lengths the ipcache holds, per family, longest first: the only
 * element (key 0) of the polc_ipcache_lengths hash. The loader replaces the
 * element whole (a hash update swaps in a new element, so a reader sees the
 * old list or the new one, never a mix), and keeps the list a superset of
 * the lengths of the entries present throughout an update. With each
 * length comes its mask, so that a probe needs no arithmetic (and the
 * verifier no branches) to mask the address.
 */
struct polc_ipcache_lengths {
	__u8 v4_count;
	__u8 v6_count;
	__u8 v4[POLC_IPCACHE_V4_LENGTHS];
	__u8 v6[POLC_IPCACHE_V6_LENGTHS];
	__u8 pad[2];
	/* The address masks of the lengths above, network byte order. */
	__u32 v4_mask[POLC_IPCACHE_V4_LENGTHS];
	__u32 v6_mask[POLC_IPCACHE_V6_LENGTHS][4];
};

/*
 * Policy table: one hash per endpoint and direction, keyed by (peer
 * identity, protocol, destination port prefix). prefixlen keeps the meaning
 * it has in the compiler's tables (PolicyEntry::keyPrefixLength):
 *   prefixlen 32             -> this peer, any protocol, any port
 *   prefixlen 48             -> this peer, one protocol, any port
 *   prefixlen 48 + k         -> this peer, one protocol, ports sharing the
 *                               first k bits of dport (port ranges become a
 *                               handful of such prefixes)
 * protocol is 0 for prefix 32, dport is masked to its first k bits (0 for
 * 32 and 48). The datapath probes the prefix lengths the table holds (a
 * compile-time set, polc_features.h) longest first; the first hit is what
 * a longest-prefix match would return.
 * For ICMP/ICMPv6, dport holds (type << 8 | code): prefix 8 = one type,
 * prefix 16 = one type and code. identity == POLC_IDENTITY_ANY is the
 * wildcard peer; the datapath looks up the exact peer and the wildcard and
 * lets a deny from either win.
 */
struct polc_policy_key {
	__u32 identity; /* host byte order */
	__u8 protocol;	/* IPPROTO_*, 0 for prefix 32 */
	__u8 prefixlen; /* 32, 48 .. 64 */
	__u16 dport;	/* network byte order, so prefixes are high bits */
};

#define POLC_POLICY_PREFIX_IDENTITY 32
#define POLC_POLICY_PREFIX_PROTOCOL 48
#define POLC_POLICY_PREFIX_FULL 64
/* A set of key prefix lengths as a mask: bit (len - 32) stands for len. */
#define POLC_POLICY_PREFIX_BIT(len) (1ull << ((len)-POLC_POLICY_PREFIX_IDENTITY))
#define POLC_POLICY_PREFIXES_ALL                                                                   \
	(POLC_POLICY_PREFIX_BIT(POLC_POLICY_PREFIX_IDENTITY) |                                     \
	 (0x1ffffull << (POLC_POLICY_PREFIX_PROTOCOL - POLC_POLICY_PREFIX_IDENTITY)))

struct polc_policy_value {
	__u8 verdict; /* POLC_VERDICT_* */
	__u8 pad[3];
	__u32 rule_id; /* index into the endpoint's rule list in the artifacts */
};

/*
 * A policy table small enough to be compiled into the program as code
 * (POLC_<DIR>_INLINE_ENTRIES, polc_inline_policy.h): its entries are
 * read-only config in .rodata, set by the loader, instead of a map. A packet
 * of peer `identity` matches when
 *   (protocol & protocol_mask) == protocol and (dport & port_mask) == dport
 * (protocol_mask 0: any protocol; port_mask 0: any port). The loader orders
 * the slots by prefix length, longest first, so the first match is what the
 * policy map's longest-prefix lookup returns. verdict 0 marks an unused slot.
 */
struct polc_inline_entry {
	__u32 identity; /* host byte order; POLC_IDENTITY_ANY = wildcard peer */
	__u8 protocol;
	__u8 protocol_mask;
	__u16 dport;	 /* network byte order, already masked */
	__u16 port_mask; /* network byte order */
	__u8 verdict;	 /* POLC_VERDICT_*, 0 = unused slot */
	__u8 pad;
	__u32 rule_id;
};

/* Conntrack: LRU hash keyed by the 5-tuple as the creating program saw it. */
struct polc_ct_key {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport; /* network byte order; for ICMP echo: the identifier */
	__u16 dport;
	__u8 protocol;
	__u8 family;
	__u8 direction; /* POLC_CT_* */
	__u8 pad;
};

/* rule_id of an entry opened without a matching rule (non-isolated
 * direction), and of an event that no rule decided. */
#define POLC_CT_RULE_NONE 0xffffffffu

struct polc_ct_value {
	__u64 created_ns;
	__u64 last_seen_ns; /* refreshed at most every POLC_CT_REFRESH_NS */
	__u32 rule_id;
	/* The node's policy epoch when the flow was last judged, with
	 * POLC_CT_EPOCH_AUDITED set when it passed as audit (an audit policy
	 * would deny it): its packets are counted and reported as audit. */
	__u32 epoch;
};
#define POLC_CT_EPOCH_AUDITED 0x80000000u
/* A flow to a service, translated (polc_service.h): its replies are
 * translated back. */
#define POLC_CT_EPOCH_NAT 0x40000000u
/* The epoch proper; the loader's epochs stay within it. */
#define POLC_CT_EPOCH_MASK 0x3fffffffu

/* The node's policy epoch (map polc_epoch, key 0): the loader bumps it after
 * every load, so that a flow judged under older tables is judged again. */
struct polc_epoch_value {
	__u32 epoch;
};

/*
 * Verdict events (polc_monitor.h). What is reported is set at run time:
 * polc_monitor_config (key 0) holds the node's level, polc_monitor_endpoints
 * an endpoint's own level (keyed by the ifindex its programs are attached
 * to, the value 0 = the node's). Events go to the node's ring buffer
 * polc_events; polc_event_stats counts per CPU what could not go there.
 */
#define POLC_MONITOR_DEFAULT 0 /* in polc_monitor_config: drops */
#define POLC_MONITOR_OFF 1
#define POLC_MONITOR_DROPS 2 /* every denied packet */
#define POLC_MONITOR_FLOWS 3 /* drops and the first packet of each allowed flow */
#define POLC_MONITOR_ALL 4   /* every packet */

struct polc_monitor_config {
	__u8 level; /* POLC_MONITOR_*; POLC_MONITOR_DEFAULT = drops */
	/* The highest level of the node and of any endpoint, so that a packet
	 * reads one array element to learn that nobody wants its event. */
	__u8 max_level;
	__u8 flags;    /* POLC_MONITOR_FLAG_*: what polc_monitor_endpoints holds */
	__u8 counting; /* POLC_COUNTING_*: packet and byte counters */
	/* Per endpoint token bucket: events per second and burst; 0 = the
	 * defaults POLC_EVENT_RATE and POLC_EVENT_BURST. */
	__u32 rate;
	__u32 burst;
};

#define POLC_MONITOR_FLAG_ENDPOINT_LEVELS 1 /* some endpoint has its own level */
#define POLC_MONITOR_FLAG_AUDIT 2	    /* some endpoint is in audit mode */

/* Counting (polc_counters.h) is on unless switched off: a zeroed config counts. */
#define POLC_COUNTING_DEFAULT 0
#define POLC_COUNTING_OFF 1
#define POLC_COUNTING_ON 2

struct polc_monitor_endpoint {
	__u8 level; /* POLC_MONITOR_*; POLC_MONITOR_DEFAULT = the node's */
	/* 1: audit mode: what policy denies passes, reported and counted with
	 * verdict audit (polc_datapath.h). */
	__u8 audit;
	__u8 pad[2];
};

#define POLC_EVENT_RATE 1000  /* events per second per endpoint */
#define POLC_EVENT_BURST 1000 /* events an endpoint may send at once */

/* An endpoint's token bucket (polc_monitor.h). */
struct polc_event_bucket {
	__u64 last_ns; /* when tokens were last added; 0: never */
	__u64 tokens;
};

/* Per CPU (polc_event_stats, key 0): what the monitor could not see. */
struct polc_event_stats {
	__u64 sent;
	__u64 lost;    /* the ring buffer was full */
	__u64 limited; /* the endpoint's rate limit suppressed it */
};

/* Why a packet got its verdict. */
#define POLC_REASON_RULE 1	     /* a policy rule (rule_id) */
#define POLC_REASON_DEFAULT_DENY 2   /* isolated direction, no rule matched */
#define POLC_REASON_NO_RULE 3	     /* open direction, no rule matched */
#define POLC_REASON_CT_REPLY 4	     /* a reply of a tracked flow */
#define POLC_REASON_CT_RELATED 5     /* an ICMP error about a tracked flow */
#define POLC_REASON_CT_ESTABLISHED 6 /* a flow already judged under this epoch */
#define POLC_REASON_MALFORMED 7	     /* headers that could not be parsed */
#define POLC_REASON_NO_IPV6 8	     /* IPv6 on a node built without it */
#define POLC_REASON_NO_BACKEND 9     /* to a service with no backend for a new flow */

#define POLC_EVENT_VERDICT_ALLOWED 1
#define POLC_EVENT_VERDICT_DENIED 2
#define POLC_EVENT_VERDICT_AUDIT 3 /* denied by policy, passed in audit mode */

#define POLC_EVENT_FLAG_NEW_FLOW 1 /* the packet opened a conntrack entry */

struct polc_event {
	__u64 time_ns; /* CLOCK_MONOTONIC (coarse) */
	__u32 ifindex; /* the endpoint's interface */
	__u32 rule_id; /* POLC_REASON_RULE, and the rule of a tracked flow */
	__u32 peer_identity;
	__u32 length; /* of the packet, from the Ethernet header on */
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport; /* network byte order; ICMP: 0, and type << 8 | code in dport */
	__u16 dport;
	__u8 protocol;
	__u8 family;
	__u8 direction; /* POLC_CT_* */
	__u8 verdict;	/* POLC_EVENT_VERDICT_* */
	__u8 reason;	/* POLC_REASON_* */
	__u8 flags;	/* POLC_EVENT_FLAG_* */
	__u8 pad[2];
	/* The service frontend the packet was sent to, translated or refused
	 * (polc_service.h): its addresses are the backend's; 0: none. */
	__u32 frontend_id;
};

/*
 * Counters (polc_counters.h): packets and bytes per endpoint, direction,
 * reason, verdict and rule, in the node's per-CPU hash polc_counters, so
 * that no packet writes memory another CPU writes. Every IP packet an
 * endpoint program judges is counted once: by the rule that decided it
 * (reason POLC_REASON_RULE for the first packet of a flow,
 * POLC_REASON_CT_ESTABLISHED for the rest), or by its reason with rule_id
 * POLC_CT_RULE_NONE. The ifindex is the endpoint's interface, as in events.
 */
struct polc_counter_key {
	__u32 ifindex;
	__u32 rule_id;	/* POLC_CT_RULE_NONE when no rule decided */
	__u8 direction; /* POLC_CT_* */
	__u8 reason;	/* POLC_REASON_* */
	__u8 verdict;	/* POLC_EVENT_VERDICT_* */
	__u8 pad;
};

struct polc_counter_value {
	__u64 packets;
	__u64 bytes; /* from the Ethernet header on, as skb->len */
};

#define POLC_EVENTS_RING_BYTES (1u << 20)
/* The datapath never wakes the ring's reader: it reads every
 * POLC_EVENTS_POLL_MS (a full ring holds ~14,000 events, so a reader keeps
 * up with ~140,000 events per second). */
#define POLC_EVENTS_POLL_MS 100

/*
 * Services (polc_service.h): a frontend is a vip, protocol and port; a new
 * flow to it goes to the backend that its flow hash (polc_hash.h) picks in
 * the frontend's Maglev table, and conntrack keeps the choice in
 * polc_lb_nat. All node-wide, filled by the loader.
 */
#define POLC_MAGLEV_SIZE 1021 /* prime; services/maglev.h kMaglevTableSize */

struct polc_service_key {
	__u32 vip[4]; /* network byte order; IPv4 in [0] */
	__u16 dport;  /* network byte order */
	__u8 protocol;
	__u8 family;
};

struct polc_service_value {
	__u32 frontend_id;   /* the key of its Maglev table in polc_maglev */
	__u16 backend_count; /* with a weight; 0: new flows are refused */
	__u8 pad[2];
	__u32 affinity_seconds; /* 0: none; else a client's new flows go to
				 * its last backend while it is used within
				 * this time (polc_lb_affinity) */
};

/* A frontend's Maglev table: backend ids (keys of polc_backends, one per
 * backend of each frontend: an id names a backend in one frontend). */
struct polc_maglev_table {
	__u32 backend_id[POLC_MAGLEV_SIZE];
};

struct polc_backend {
	__u32 addr[4]; /* network byte order; IPv4 in [0] */
	__u16 port;    /* network byte order: the target port */
	__u8 family;
	__u8 pad;
};

/* polc_lb_affinity: a client's backend at a frontend with affinity, and
 * when the client last opened a flow there. The backend's polc_backends
 * entry goes when it leaves the frontend or is drained: the client then
 * takes the backend its flow hash picks. */
struct polc_affinity_key {
	__u32 frontend_id;
	__u8 family;
	__u8 pad[3];
	__u32 client[4]; /* network byte order; IPv4 in [0] */
};

struct polc_affinity_value {
	__u32 backend_id;
	__u32 pad;
	__u64 used_ns; /* bpf_ktime_get_ns of the client's last new flow */
};

/* polc_lb_nat, keyed like conntrack (direction POLC_CT_EGRESS, as the
 * client's program saw the packet): the client's tuple (to the vip) maps
 * to the backend its flow was translated to, the translated tuple (to the
 * backend) to the vip and port its replies must come from. */
struct polc_nat_value {
	__u32 addr[4];
	__u16 port;
	__u8 pad[2];
};

/* Map capacities; the compiler refuses tables larger than these. */
#define POLC_IPCACHE_MAX_ENTRIES 65536
#define POLC_POLICY_MAX_ENTRIES 131072
#define POLC_CT_MAX_ENTRIES 262144
#define POLC_MONITOR_MAX_ENDPOINTS 16384
/* Counter keys per node: endpoints x rules in use x reasons. A full map
 * counts nothing new (polc stats says so); existing keys go on counting. */
#define POLC_COUNTERS_MAX_ENTRIES 262144
#define POLC_FRONTENDS_MAX_ENTRIES 65536
/* One entry per backend of each frontend (with a weight). */
#define POLC_BACKENDS_MAX_ENTRIES 262144
#define POLC_AFFINITY_MAX_ENTRIES 65536

#ifdef __cplusplus
#define POLC_STRUCT_CHECK(type, size) static_assert(sizeof(type) == (size), #type " layout changed")
#else
#define POLC_STRUCT_CHECK(type, size)                                                              \
	_Static_assert(sizeof(type) == (size), #type " layout changed")
#endif
POLC_STRUCT_CHECK(struct polc_ipcache_key, 20);
POLC_STRUCT_CHECK(struct polc_ipcache_lengths, 2364);
POLC_STRUCT_CHECK(struct polc_ipcache_value, 4);
POLC_STRUCT_CHECK(struct polc_policy_key, 8);
POLC_STRUCT_CHECK(struct polc_policy_value, 8);
POLC_STRUCT_CHECK(struct polc_inline_entry, 16);
POLC_STRUCT_CHECK(struct polc_ct_key, 40);
POLC_STRUCT_CHECK(struct polc_ct_value, 24);
POLC_STRUCT_CHECK(struct polc_epoch_value, 4);
POLC_STRUCT_CHECK(struct polc_monitor_config, 12);
POLC_STRUCT_CHECK(struct polc_monitor_endpoint, 4);
POLC_STRUCT_CHECK(struct polc_event_bucket, 16);
POLC_STRUCT_CHECK(struct polc_event_stats, 24);
POLC_STRUCT_CHECK(struct polc_event, 72);
POLC_STRUCT_CHECK(struct polc_counter_key, 12);
POLC_STRUCT_CHECK(struct polc_counter_value, 16);
POLC_STRUCT_CHECK(struct polc_service_key, 20);
POLC_STRUCT_CHECK(struct polc_service_value, 12);
POLC_STRUCT_CHECK(struct polc_affinity_key, 24);
POLC_STRUCT_CHECK(struct polc_affinity_value, 16);
POLC_STRUCT_CHECK(struct polc_maglev_table, 4 * POLC_MAGLEV_SIZE);
POLC_STRUCT_CHECK(struct polc_backend, 20);
POLC_STRUCT_CHECK(struct polc_nat_value, 20);

#endif /* POLC_STRUCTS_H */
