/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Service load balancing in the endpoint programs (POLC_SERVICES 1).
 *
 * A packet leaving an endpoint (polc_from_ep) whose destination is a
 * frontend (vip, protocol, port in polc_services) is translated before
 * policy sees it: the first packet of a flow takes the backend its flow hash
 * (polc_hash.h) picks in the frontend's Maglev table, and polc_lb_nat keeps
 * the choice under the client's tuple, so every later packet of the flow
 * goes to the same backend, whatever happens to the tables meanwhile. The
 * destination address and port are rewritten, checksums fixed, and policy
 * and conntrack then see the translated packet: policy judges the backend's
 * identity on its target port, and the conntrack entry (marked
 * POLC_CT_EPOCH_NAT) is that of the flow to the backend.
 *
 * A reply entering the client (polc_to_ep) finds that entry as its reply
 * entry; the mark sends it to polc_lb_nat once more, for the vip and port
 * the client connected to, which become its source again. Nothing else
 * pays for services but the one polc_services lookup per packet leaving an
 * endpoint that is not a reply.
 *
 * A frontend with session affinity sends a client's new flows to the
 * backend of its last one while that one is still a backend of the
 * frontend with a weight and the client opened a flow there within the
 * timeout (polc_lb_affinity).
 *
 * TCP, UDP and ICMP/ICMPv6 echo requests (the vip's echo entry, port 0,
 * has the value of one of its port frontends: the same table, the same
 * backends; the echo is translated to the backend's address only). Other
 * protocols to a vip are not translated.
 */
#ifndef POLC_SERVICE_H
#define POLC_SERVICE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "polc_conntrack.h"
#include "polc_hash.h"
#include "polc_parse.h"
#include "polc_structs.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, POLC_FRONTENDS_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct polc_service_key);
	__type(value, struct polc_service_value);
} polc_services SEC(".maps");

/* A hash, not an array: the loader replaces a frontend's table whole. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, POLC_FRONTENDS_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct polc_maglev_table);
} polc_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, POLC_BACKENDS_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct polc_backend);
} polc_backends SEC(".maps");

/* Evicted least recently used first: an entry that is gone only means the
 * client's next flow takes the backend its hash picks. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, POLC_AFFINITY_MAX_ENTRIES);
	__type(key, struct polc_affinity_key);
	__type(value, struct polc_affinity_value);
} polc_lb_affinity SEC(".maps");

/* Two entries per translated flow, evicted like conntrack's. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, POLC_CT_MAX_ENTRIES);
	__type(key, struct polc_ct_key);
	__type(value, struct polc_nat_value);
} polc_lb_nat SEC(".maps");

#define POLC_SERVICE_NONE 0	  /* not to a frontend: nothing done */
#define POLC_SERVICE_TRANSLATED 1 /* rewritten to a backend */
#define POLC_SERVICE_NO_BACKEND 2 /* a new flow to a frontend without backends */
#define POLC_SERVICE_FAILED 3	  /* the packet could not be rewritten */

#define POLC_TCP_CHECK_OFFSET 16
#define POLC_UDP_CHECK_OFFSET 6

#define POLC_ICMP_CHECK_OFFSET 2

/*
 * Rewrites the packet's destination (to_destination) or source address and
 * port, with the IPv4 header checksum and the TCP/UDP checksum (whose
 * pseudo-header covers the addresses) fixed incrementally. A UDP checksum
 * of 0 (none, IPv4) stays 0. An echo keeps its identifier (the port is not
 * written): ICMP's checksum covers no address, ICMPv6's covers both through
 * its pseudo-header. Updates pkt to match.
 */
static __always_inline int polc_nat_rewrite(struct __sk_buff *skb, struct polc_packet *pkt,
					    const int to_destination, const __u32 *addr, __u16 port)
{
	__u32 *old_addr = to_destination ? pkt->daddr : pkt->saddr;
	__u16 old_port = to_destination ? pkt->dport : pkt->sport;
	__u32 l4 = pkt->l4_offset;
	__u32 check, addr_offset;
	__u64 mangled = 0;
	__u32 new_addr[4];
	int echo = 0;

	__builtin_memcpy(new_addr, addr, sizeof(new_addr));
	if (pkt->protocol == IPPROTO_TCP) {
		check = l4 + POLC_TCP_CHECK_OFFSET;
	} else if (pkt->protocol == IPPROTO_UDP) {
		check = l4 + POLC_UDP_CHECK_OFFSET;
		mangled = BPF_F_MARK_MANGLED_0;
	} else if (pkt->protocol == POLC_IPPROTO_ICMP || pkt->protocol == POLC_IPPROTO_ICMPV6) {
		check = l4 + POLC_ICMP_CHECK_OFFSET;
		echo = 1;
	} else {
		return -1;
	}
	if (pkt->family == POLC_FAMILY_IPV4) {
		addr_offset = ETH_HLEN + (to_destination ? __builtin_offsetof(struct iphdr, daddr)
							 : __builtin_offsetof(struct iphdr, saddr));
		if ((!echo && bpf_l4_csum_replace(skb, check, old_addr[0], new_addr[0],
						  BPF_F_PSEUDO_HDR | mangled | 4) < 0) ||
		    bpf_l3_csum_replace(skb, ETH_HLEN + __builtin_offsetof(struct iphdr, check),
					old_addr[0], new_addr[0], 4) < 0 ||
		    bpf_skb_store_bytes(skb, addr_offset, new_addr, 4, 0) < 0)
			return -1;
	} else {
		__s64 diff = bpf_csum_diff(old_addr, 16, new_addr, 16, 0);

		addr_offset =
		    ETH_HLEN + (to_destination ? __builtin_offsetof(struct ipv6hdr, daddr)
					       : __builtin_offsetof(struct ipv6hdr, saddr));
		if (diff < 0 ||
		    bpf_l4_csum_replace(skb, check, 0, diff, BPF_F_PSEUDO_HDR | mangled) < 0 ||
		    bpf_skb_store_bytes(skb, addr_offset, new_addr, 16, 0) < 0)
			return -1;
	}
	__builtin_memcpy(old_addr, new_addr, sizeof(new_addr));
	if (echo)
		return 0;
	if (bpf_l4_csum_replace(skb, check, old_port, port, mangled | 2) < 0 ||
	    bpf_skb_store_bytes(skb, l4 + (to_destination ? 2 : 0), &port, 2, 0) < 0)
		return -1;
	if (to_destination) {
		pkt->dport = port;
		pkt->policy_port = port;
	} else {
		pkt->sport = port;
	}
	return 0;
}

/* The backend id of a new flow to `service`: its slot in the Maglev table;
 * 0 when there is none (0 is never an id: ids are hashes, and the loader
 * skips 0). */
static __always_inline __u32 polc_service_slot(const struct polc_packet *pkt,
					       const struct polc_service_value *service)
{
	struct polc_maglev_table *table;
	__u32 slot;

	table = bpf_map_lookup_elem(&polc_maglev, &service->frontend_id);
	if (!table)
		return 0;
	slot = polc_flow_hash(pkt->saddr, pkt->daddr, pkt->sport, pkt->dport, pkt->protocol,
			      pkt->family) %
	       POLC_MAGLEV_SIZE;
	/* The verifier does not follow the bound through the modulo; the
	 * barrier keeps clang from dropping the check it needs instead. */
	asm volatile("" : "+r"(slot));
	if (slot >= POLC_MAGLEV_SIZE)
		return 0;
	return table->backend_id[slot];
}

/* The backend of a new flow to `service`: with affinity, the client's
 * backend there while it is still one (its entry is there) and was used
 * within the timeout; otherwise the flow hash's, which becomes the
 * client's. */
static __always_inline struct polc_backend *
polc_service_pick(const struct polc_packet *pkt, const struct polc_service_value *service)
{
	struct polc_affinity_key client = {};
	struct polc_affinity_value *last, chosen = {};
	struct polc_backend *backend;
	__u32 backend_id;

	if (!service->backend_count)
		return 0;
	if (!service->affinity_seconds) {
		backend_id = polc_service_slot(pkt, service);
		return bpf_map_lookup_elem(&polc_backends, &backend_id);
	}
	client.frontend_id = service->frontend_id;
	client.family = pkt->family;
	__builtin_memcpy(client.client, pkt->saddr, sizeof(client.client));
	chosen.used_ns = bpf_ktime_get_ns();
	last = bpf_map_lookup_elem(&polc_lb_affinity, &client);
	if (last && chosen.used_ns - last->used_ns < service->affinity_seconds * 1000000000ull) {
		backend = bpf_map_lookup_elem(&polc_backends, &last->backend_id);
		if (backend) {
			last->used_ns = chosen.used_ns;
			return backend;
		}
	}
	chosen.backend_id = polc_service_slot(pkt, service);
	backend = bpf_map_lookup_elem(&polc_backends, &chosen.backend_id);
	/* Not remembered: the flow still goes (a full LRU map evicts). */
	if (backend)
		bpf_map_update_elem(&polc_lb_affinity, &client, &chosen, BPF_ANY);
	return backend;
}

/* polc_from_ep: translates a packet to a frontend (POLC_SERVICE_*). */
static __always_inline int polc_service_translate(struct __sk_buff *skb, struct polc_packet *pkt)
{
	struct polc_service_key service_key = {};
	struct polc_service_value *service;
	struct polc_nat_value *known, chosen = {}, vip = {};
	struct polc_backend *backend;
	struct polc_ct_key flow, translated;

	/* An ICMP packet that may open a flow is an echo request: its key
	 * has port 0 (pkt->dport), its identifier is its sport. */
	if (!pkt->ct_may_create ||
	    (pkt->protocol != IPPROTO_TCP && pkt->protocol != IPPROTO_UDP &&
	     pkt->protocol != POLC_IPPROTO_ICMP && pkt->protocol != POLC_IPPROTO_ICMPV6))
		return POLC_SERVICE_NONE;
	__builtin_memcpy(service_key.vip, pkt->daddr, sizeof(service_key.vip));
	service_key.dport = pkt->dport;
	service_key.protocol = pkt->protocol;
	service_key.family = pkt->family;
	service = bpf_map_lookup_elem(&polc_services, &service_key);
	if (!service)
		return POLC_SERVICE_NONE;
	pkt->frontend_id = service->frontend_id; /* events name the service */

	polc_ct_forward_key(pkt, POLC_CT_EGRESS, &flow);
	known = bpf_map_lookup_elem(&polc_lb_nat, &flow);
	if (known) {
		/* A flow already translated keeps its backend. */
		chosen = *known;
	} else {
		backend = polc_service_pick(pkt, service);
		if (!backend)
			return POLC_SERVICE_NO_BACKEND;
		__builtin_memcpy(chosen.addr, backend->addr, sizeof(chosen.addr));
		/* An echo shares its table with a port's: it keeps port 0. */
		chosen.port = pkt->protocol == IPPROTO_TCP || pkt->protocol == IPPROTO_UDP
				  ? backend->port
				  : 0;
		__builtin_memcpy(vip.addr, pkt->daddr, sizeof(vip.addr));
		vip.port = pkt->dport;
		translated = flow;
		__builtin_memcpy(translated.daddr, chosen.addr, sizeof(translated.daddr));
		translated.dport = chosen.port;
		/* The way back first: a reply must never find a flow it
		 * cannot translate back. */
		if (bpf_map_update_elem(&polc_lb_nat, &translated, &vip, BPF_ANY) < 0 ||
		    bpf_map_update_elem(&polc_lb_nat, &flow, &chosen, BPF_ANY) < 0)
			return POLC_SERVICE_FAILED;
	}
	if (polc_nat_rewrite(skb, pkt, 1, chosen.addr, chosen.port) < 0)
		return POLC_SERVICE_FAILED;
	return POLC_SERVICE_TRANSLATED;
}

/* polc_to_ep: a reply of a translated flow (its conntrack entry is marked
 * POLC_CT_EPOCH_NAT) comes from the vip and port the client connected to. */
static __always_inline int polc_service_reverse(struct __sk_buff *skb, struct polc_packet *pkt)
{
	struct polc_ct_key translated;
	struct polc_nat_value *vip;

	polc_ct_reply_key(pkt, POLC_CT_INGRESS, &translated);
	vip = bpf_map_lookup_elem(&polc_lb_nat, &translated);
	if (!vip)
		return 0;
	return polc_nat_rewrite(skb, pkt, 0, vip->addr, vip->port);
}

#endif /* POLC_SERVICE_H */
