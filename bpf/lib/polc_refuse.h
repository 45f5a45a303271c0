/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Refusing a packet the way a host does (POLC_SERVICES 1): the packet that
 * opens a flow to a frontend without backends becomes, in place, its
 * refusal from the address it was sent to, and is sent straight back into
 * the endpoint: a TCP segment gets a reset (RFC 9293, 3.10.7.1), anything
 * else an ICMP (ICMPv6) port unreachable quoting the packet's IP header and
 * the first 8 bytes after it. The client gets ECONNREFUSED at once, where a
 * drop would leave it waiting for a timeout. (A reset, not an ICMP error,
 * for TCP: the answer arrives while the connecting socket is still locked
 * by connect(), and Linux queues a reset for it, where it would keep an
 * ICMP error only as a soft error until the SYN is sent again, a second
 * later.)
 *
 * polc_from_ep runs at tc ingress of the host side of the endpoint's veth:
 * bpf_redirect_peer hands the answer to the other side, in the endpoint's
 * namespace, as a received packet (no tc egress program on the way, so
 * policy never judges the answer). Where the interface is not a veth with
 * its peer in another namespace, the kernel drops the answer instead: the
 * flow is refused by a drop, as without this header.
 *
 * Only packets with a plain IP header (IPv4 without options, IPv6 without
 * extension headers) are answered; the others are dropped.
 */
#ifndef POLC_REFUSE_H
#define POLC_REFUSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "polc_parse.h"
#include "polc_structs.h"

#define POLC_REFUSE_QUOTED_L4 8 /* bytes of the L4 header quoted (RFC 792) */
#define POLC_REFUSE_HOP_LIMIT 64
#define POLC_ICMP_PORT_UNREACH 3
#define POLC_ICMPV6_PORT_UNREACH 4
#define POLC_TCP_FIN 0x01
#define POLC_TCP_SYN 0x02
#define POLC_TCP_RST 0x04
#define POLC_TCP_ACK 0x10

/* An ICMP or ICMPv6 error's header (linux/icmp.h would pull in userspace
 * headers): type, code, checksum, 4 unused bytes. */
struct polc_icmp_error {
	__u8 type;
	__u8 code;
	__u16 checksum;
	__u32 unused;
};

/* A TCP header without options. */
struct polc_tcp_header {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u8 data_offset; /* in 4-byte words, in the high nibble */
	__u8 flags;
	__be16 window;
	__u16 check;
	__be16 urgent;
};

/* The answers, after the Ethernet header. */
struct polc_icmp_answer4 {
	struct iphdr ip;
	struct polc_icmp_error icmp;
	__u8 quoted[sizeof(struct iphdr) + POLC_REFUSE_QUOTED_L4];
};

struct polc_icmp_answer6 {
	struct ipv6hdr ip;
	struct polc_icmp_error icmp;
	__u8 quoted[sizeof(struct ipv6hdr) + POLC_REFUSE_QUOTED_L4];
};

struct polc_reset4 {
	struct iphdr ip;
	struct polc_tcp_header tcp;
};

struct polc_reset6 {
	struct ipv6hdr ip;
	struct polc_tcp_header tcp;
};

/* The pseudo-headers of the TCP and ICMPv6 checksums (RFC 9293, 3.1; RFC
 * 8200, 8.1). */
struct polc_pseudo4 {
	__u32 saddr;
	__u32 daddr;
	__u8 zero;
	__u8 protocol;
	__be16 length;
};

struct polc_pseudo6 {
	__u32 saddr[4];
	__u32 daddr[4];
	__be32 length;
	__be32 next_header;
};

static __always_inline __u16 polc_csum_fold(__s64 sum)
{
	__u32 folded = (__u32)sum;

	folded = (folded & 0xffff) + (folded >> 16);
	folded = (folded & 0xffff) + (folded >> 16);
	return (__u16)~folded;
}

/* The answer's IP header and the sum of its checksum's pseudo-header: from
 * the packet's destination back to its source. */
static __always_inline __s64 polc_answer_ip4(struct iphdr *ip, const struct polc_packet *pkt,
					     __u8 protocol, __u16 payload)
{
	struct polc_pseudo4 pseudo = {};

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = protocol == IPPROTO_ICMP ? 0xc0 : 0; /* as the kernel's ICMP errors */
	ip->tot_len = bpf_htons(sizeof(*ip) + payload);
	ip->ttl = POLC_REFUSE_HOP_LIMIT;
	ip->protocol = protocol;
	ip->saddr = pkt->daddr[0];
	ip->daddr = pkt->saddr[0];
	ip->check = polc_csum_fold(bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0));
	pseudo.saddr = pkt->daddr[0];
	pseudo.daddr = pkt->saddr[0];
	pseudo.protocol = protocol;
	pseudo.length = bpf_htons(payload);
	return bpf_csum_diff(0, 0, (__be32 *)&pseudo, sizeof(pseudo), 0);
}

static __always_inline __s64 polc_answer_ip6(struct ipv6hdr *ip, const struct polc_packet *pkt,
					     __u8 protocol, __u16 payload)
{
	struct polc_pseudo6 pseudo = {};

	ip->version = 6;
	ip->payload_len = bpf_htons(payload);
	ip->nexthdr = protocol;
	ip->hop_limit = POLC_REFUSE_HOP_LIMIT;
	__builtin_memcpy(&ip->saddr, pkt->daddr, 16);
	__builtin_memcpy(&ip->daddr, pkt->saddr, 16);
	__builtin_memcpy(pseudo.saddr, pkt->daddr, 16);
	__builtin_memcpy(pseudo.daddr, pkt->saddr, 16);
	pseudo.length = bpf_htonl(payload);
	pseudo.next_header = bpf_htonl(protocol);
	return bpf_csum_diff(0, 0, (__be32 *)&pseudo, sizeof(pseudo), 0);
}

/* The reset's TCP header for the packet's `tcp` header, `payload` bytes
 * after it; -1 for a reset, which is never answered. */
static __always_inline int polc_reset_header(struct polc_tcp_header *reset,
					     const struct polc_tcp_header *tcp, __u32 payload)
{
	if (tcp->flags & POLC_TCP_RST)
		return -1;
	reset->source = tcp->dest;
	reset->dest = tcp->source;
	reset->data_offset = (sizeof(*reset) / 4) << 4;
	if (tcp->flags & POLC_TCP_ACK) {
		reset->seq = tcp->ack_seq;
		reset->flags = POLC_TCP_RST;
	} else {
		payload +=
		    (tcp->flags & POLC_TCP_SYN ? 1 : 0) + (tcp->flags & POLC_TCP_FIN ? 1 : 0);
		reset->ack_seq = bpf_htonl(bpf_ntohl(tcp->seq) + payload);
		reset->flags = POLC_TCP_RST | POLC_TCP_ACK;
	}
	return 0;
}

/* Replaces the packet after its Ethernet header with `answer`. */
static __always_inline int polc_answer_store(struct __sk_buff *skb, const struct ethhdr *eth,
					     const void *answer, __u32 size)
{
	if (bpf_skb_change_tail(skb, ETH_HLEN + size, 0) < 0 ||
	    bpf_skb_store_bytes(skb, 0, eth, sizeof(*eth), 0) < 0 ||
	    bpf_skb_store_bytes(skb, ETH_HLEN, answer, size, 0) < 0)
		return -1;
	return 0;
}

static __always_inline int polc_reset_build(struct __sk_buff *skb, const struct polc_packet *pkt,
					    const struct ethhdr *eth)
{
	struct polc_tcp_header tcp;
	__u16 length;
	__s64 sum;

	if (bpf_skb_load_bytes(skb, pkt->l4_offset, &tcp, sizeof(tcp)) < 0)
		return -1;
	if (pkt->family == POLC_FAMILY_IPV4) {
		struct polc_reset4 answer = {};

		if (bpf_skb_load_bytes(skb, ETH_HLEN + __builtin_offsetof(struct iphdr, tot_len),
				       &length, sizeof(length)) < 0)
			return -1;
		if (polc_reset_header(&answer.tcp, &tcp,
				      bpf_ntohs(length) - sizeof(struct iphdr) -
					  (tcp.data_offset >> 4) * 4) < 0)
			return -1;
		sum = polc_answer_ip4(&answer.ip, pkt, IPPROTO_TCP, sizeof(answer.tcp));
		if (sum < 0)
			return -1;
		answer.tcp.check = polc_csum_fold(
		    bpf_csum_diff(0, 0, (__be32 *)&answer.tcp, sizeof(answer.tcp), (__wsum)sum));
		return polc_answer_store(skb, eth, &answer, sizeof(answer));
	} else {
		struct polc_reset6 answer = {};

		if (bpf_skb_load_bytes(skb,
				       ETH_HLEN + __builtin_offsetof(struct ipv6hdr, payload_len),
				       &length, sizeof(length)) < 0)
			return -1;
		if (polc_reset_header(&answer.tcp, &tcp,
				      bpf_ntohs(length) - (tcp.data_offset >> 4) * 4) < 0)
			return -1;
		sum = polc_answer_ip6(&answer.ip, pkt, IPPROTO_TCP, sizeof(answer.tcp));
		if (sum < 0)
			return -1;
		answer.tcp.check = polc_csum_fold(
		    bpf_csum_diff(0, 0, (__be32 *)&answer.tcp, sizeof(answer.tcp), (__wsum)sum));
		return polc_answer_store(skb, eth, &answer, sizeof(answer));
	}
}

static __always_inline int polc_unreachable_build(struct __sk_buff *skb,
						  const struct polc_packet *pkt,
						  const struct ethhdr *eth)
{
	if (pkt->family == POLC_FAMILY_IPV4) {
		struct polc_icmp_answer4 answer = {};

		if (bpf_skb_load_bytes(skb, ETH_HLEN, answer.quoted, sizeof(answer.quoted)) < 0)
			return -1;
		/* ICMP's checksum has no pseudo-header. */
		polc_answer_ip4(&answer.ip, pkt, IPPROTO_ICMP,
				sizeof(answer.icmp) + sizeof(answer.quoted));
		answer.icmp.type = POLC_ICMP_DEST_UNREACH;
		answer.icmp.code = POLC_ICMP_PORT_UNREACH;
		answer.icmp.checksum = polc_csum_fold(bpf_csum_diff(
		    0, 0, (__be32 *)&answer.icmp, sizeof(answer.icmp) + sizeof(answer.quoted), 0));
		return polc_answer_store(skb, eth, &answer, sizeof(answer));
	} else {
		struct polc_icmp_answer6 answer = {};
		__s64 sum;

		if (bpf_skb_load_bytes(skb, ETH_HLEN, answer.quoted, sizeof(answer.quoted)) < 0)
			return -1;
		sum = polc_answer_ip6(&answer.ip, pkt, IPPROTO_ICMPV6,
				      sizeof(answer.icmp) + sizeof(answer.quoted));
		if (sum < 0)
			return -1;
		answer.icmp.type = POLC_ICMPV6_DEST_UNREACH;
		answer.icmp.code = POLC_ICMPV6_PORT_UNREACH;
		answer.icmp.checksum = polc_csum_fold(
		    bpf_csum_diff(0, 0, (__be32 *)&answer.icmp,
				  sizeof(answer.icmp) + sizeof(answer.quoted), (__wsum)sum));
		return polc_answer_store(skb, eth, &answer, sizeof(answer));
	}
}

/* polc_from_ep: the tc action that refuses the packet. */
static __always_inline int polc_refuse(struct __sk_buff *skb, const struct polc_packet *pkt)
{
	const __u32 plain_header =
	    pkt->family == POLC_FAMILY_IPV4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	struct ethhdr eth;
	__u8 mac[ETH_ALEN];
	int built;

	if (pkt->l4_offset != ETH_HLEN + plain_header ||
	    bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0)
		return TC_ACT_SHOT;
	__builtin_memcpy(mac, eth.h_dest, ETH_ALEN);
	__builtin_memcpy(eth.h_dest, eth.h_source, ETH_ALEN);
	__builtin_memcpy(eth.h_source, mac, ETH_ALEN);
	if (pkt->protocol == IPPROTO_TCP)
		built = polc_reset_build(skb, pkt, &eth);
	else
		built = polc_unreachable_build(skb, pkt, &eth);
	if (built < 0)
		return TC_ACT_SHOT;
	return bpf_redirect_peer(skb->ifindex, 0);
}

#endif /* POLC_REFUSE_H */
