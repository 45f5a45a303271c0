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

#define POLC_VERDICT_ALLOW 1
#define POLC_VERDICT_DENY 2

/* Conntrack directions: which of the endpoint's programs created the entry. */
#define POLC_CT_EGRESS 1  /* packet leaving the endpoint (tc ingress hook) */
#define POLC_CT_INGRESS 2 /* packet entering the endpoint (tc egress hook) */

/*
 * ipcache: LPM trie from address prefix to security identity.
 * prefixlen counts the bits of everything after it: 32 bits of
 * family+pad, then the address bits. An IPv4 address lives in addr[0].
 */
struct polc_ipcache_key {
	__u32 prefixlen;
	__u8 family;
	__u8 pad[3];
	__u32 addr[4]; /* network byte order */
};

struct polc_ipcache_value {
	__u32 identity;
};

#define POLC_IPCACHE_PREFIX_BASE 32

/*
 * Policy table: one LPM trie per endpoint and direction, keyed by
 * (peer identity, protocol, destination port). The order of the fields is
 * the order of significance:
 *   prefixlen 32             -> this peer, any protocol, any port
 *   prefixlen 48             -> this peer, one protocol, any port
 *   prefixlen 48 + k         -> this peer, one protocol, ports sharing the
 *                               first k bits of dport (port ranges become a
 *                               handful of such prefixes)
 * For ICMP/ICMPv6, dport holds (type << 8 | code): prefix 8 = one type,
 * prefix 16 = one type and code. identity == POLC_IDENTITY_ANY is the
 * wildcard peer; the datapath looks up the exact peer and the wildcard and
 * lets a deny from either win.
 */
struct polc_policy_key {
	__u32 prefixlen;
	__u32 identity; /* host byte order; always fully matched */
	__u8 protocol;	/* IPPROTO_* */
	__u8 pad;	/* always 0 */
	__u16 dport;	/* network byte order, so prefixes are high bits */
};

#define POLC_POLICY_PREFIX_IDENTITY 32
#define POLC_POLICY_PREFIX_PROTOCOL 48
#define POLC_POLICY_PREFIX_FULL 64

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

struct polc_ct_value {
	__u64 created_ns;
	__u64 last_seen_ns;
	__u32 rule_id;
	__u32 pad;
};

/* Map capacities; the compiler refuses tables larger than these. */
#define POLC_IPCACHE_MAX_ENTRIES 65536
#define POLC_POLICY_MAX_ENTRIES 131072
#define POLC_CT_MAX_ENTRIES 262144

#ifdef __cplusplus
#define POLC_STRUCT_CHECK(type, size) static_assert(sizeof(type) == (size), #type " layout changed")
#else
#define POLC_STRUCT_CHECK(type, size)                                                              \
	_Static_assert(sizeof(type) == (size), #type " layout changed")
#endif
POLC_STRUCT_CHECK(struct polc_ipcache_key, 24);
POLC_STRUCT_CHECK(struct polc_ipcache_value, 4);
POLC_STRUCT_CHECK(struct polc_policy_key, 12);
POLC_STRUCT_CHECK(struct polc_policy_value, 8);
POLC_STRUCT_CHECK(struct polc_inline_entry, 16);
POLC_STRUCT_CHECK(struct polc_ct_key, 40);
POLC_STRUCT_CHECK(struct polc_ct_value, 24);

#endif /* POLC_STRUCTS_H */
