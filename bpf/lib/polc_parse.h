/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing: Ethernet, IPv4, IPv6 (with its common extension headers),
 * then the ports of TCP, UDP and SCTP or the type/code/identifier of ICMP
 * and ICMPv6.
 *
 * Headers are copied with polc_load(): straight from the skb's linear data
 * when they lie within it (the common case: no helper call), else with
 * bpf_skb_load_bytes(), which also reads non-linear skbs. Either way a short
 * packet is simply a failed copy, which keeps the bounds checks out of the
 * logic.
 *
 * What the parser reports for the cases that are not a plain first packet:
 *  - Non-IP ethertypes (ARP, LLDP, ...): POLC_PARSE_NOT_IP, the caller passes
 *    them. VLAN-tagged frames (802.1Q/802.1ad in the packet data) are
 *    POLC_PARSE_MALFORMED: they carry IP that policy has not seen, so an
 *    isolated direction drops them (fail closed).
 *  - Truncated headers, a wrong IP version or an IPv4 IHL below 5:
 *    POLC_PARSE_MALFORMED.
 *  - Non-first fragments (IPv4 offset != 0, IPv6 fragment header with
 *    offset != 0): there is no L4 header. Such a packet takes no part in
 *    conntrack and policy sees only its protocol: it
 *    matches rules that cover every port of the protocol (prefix <= 48).
 *    The first fragment carries the ports and is judged on them; dropping
 *    it is enough to stop the datagram being reassembled.
 *  - IPv6 with more than POLC_IPV6_MAX_EXT_HEADERS extension headers:
 *    POLC_PARSE_MALFORMED (fail closed rather than guess).
 *  - Protocols without ports (GRE, ESP, ...): ports 0 for conntrack,
 *    policy_port_known = 0 so only protocol-wide rules match.
 *  - ICMP/ICMPv6: only an echo request opens a conntrack entry and only an
 *    echo reply is looked up as a reply; other types are judged by policy.
 *  - ICMP errors (ICMP destination unreachable, time exceeded, parameter
 *    problem; ICMPv6 destination unreachable, packet too big, time
 *    exceeded, parameter problem) carry the start of the packet that caused
 *    them: its tuple goes to pkt->related, so that an error about a flow
 *    the endpoint's other program let through passes like a reply (a UDP
 *    port unreachable, the packet-too-big that IPv6 path MTU discovery
 *    needs). Only an embedded TCP, UDP, SCTP or echo request directly after
 *    the IP header is recognized; otherwise the error is judged by policy.
 *  - ICMPv6 neighbour discovery (types 133-137 with hop limit 255, which
 *    RFC 4861 requires): POLC_PARSE_PASS when POLC_PASS_IPV6_ND is 1, the
 *    IPv6 counterpart of letting ARP through.
 */
#ifndef POLC_PARSE_H
#define POLC_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

/* libbpf's headers need the kernel types above first. */
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "polc_structs.h"

#ifndef POLC_IPV6_MAX_EXT_HEADERS
#define POLC_IPV6_MAX_EXT_HEADERS 4
#endif

#ifndef POLC_PASS_IPV6_ND
#define POLC_PASS_IPV6_ND 1
#endif

#define POLC_ETH_P_8021Q 0x8100
#define POLC_ETH_P_8021AD 0x88A8

#define POLC_IPPROTO_HOPOPTS 0
#define POLC_IPPROTO_ICMP 1
#define POLC_IPPROTO_TCP 6
#define POLC_IPPROTO_UDP 17
#define POLC_IPPROTO_ROUTING 43
#define POLC_IPPROTO_FRAGMENT 44
#define POLC_IPPROTO_AH 51
#define POLC_IPPROTO_ICMPV6 58
#define POLC_IPPROTO_DSTOPTS 60
#define POLC_IPPROTO_SCTP 132

#define POLC_ICMP_ECHO_REPLY 0
#define POLC_ICMP_ECHO_REQUEST 8
#define POLC_ICMPV6_ECHO_REQUEST 128
#define POLC_ICMPV6_ECHO_REPLY 129
#define POLC_ICMP_DEST_UNREACH 3
#define POLC_ICMP_TIME_EXCEEDED 11
#define POLC_ICMP_PARAMETER_PROBLEM 12
#define POLC_ICMPV6_DEST_UNREACH 1
#define POLC_ICMPV6_PARAMETER_PROBLEM 4 /* 1-4: the ICMPv6 errors of RFC 4443 */
#define POLC_ICMP_ERROR_HEADER_LEN 8	/* type, code, checksum, 4 bytes; then the packet */
#define POLC_ICMPV6_ND_FIRST 133	/* router solicitation */
#define POLC_ICMPV6_ND_LAST 137		/* redirect */

/* Headers further into the packet than this are copied by the helper: a
 * bound the verifier needs on a variable offset into packet data. */
#define POLC_DIRECT_MAX_OFFSET 1024

/* Copies the header at offset into var (an lvalue of the header's type);
 * 0 on success, < 0 when the packet is too short. */
#define polc_load(skb, offset, var)                                                                \
	({                                                                                         \
		void *data_ = (void *)(long)(skb)->data;                                           \
		void *data_end_ = (void *)(long)(skb)->data_end;                                   \
		__u32 offset_ = (offset);                                                          \
		int loaded_ = 0;                                                                   \
		if (offset_ <= POLC_DIRECT_MAX_OFFSET &&                                           \
		    data_ + offset_ + sizeof(var) <= data_end_)                                    \
			(var) = *(const typeof(var) *)(data_ + offset_);                           \
		else                                                                               \
			loaded_ = bpf_skb_load_bytes(skb, offset_, &(var), sizeof(var));           \
		loaded_;                                                                           \
	})

#define POLC_IPV4_FRAG_OFFSET_MASK 0x1fff
#define POLC_IPV6_FRAG_OFFSET_MASK 0xfff8

enum polc_parse_result {
	POLC_PARSE_OK = 0,
	POLC_PARSE_NOT_IP,    /* pass: not policy's business */
	POLC_PARSE_PASS,      /* pass: IP control traffic the datapath never filters */
	POLC_PARSE_MALFORMED, /* IP that cannot be judged */
};

/* The packet an ICMP error is about, as its sender sent it (so as the
 * conntrack entry of its flow has it). valid = 0 when there is none. */
struct polc_related_flow {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport;
	__u16 dport;
	__u8 protocol;
	__u8 valid;
};

/* What policy and conntrack need of one packet. */
struct polc_packet {
	__u32 saddr[4]; /* network byte order; IPv4 in [0] */
	__u32 daddr[4];
	/* Conntrack ports, network byte order. ICMP echo request: sport = the
	 * identifier; echo reply: dport = the identifier, so a reply's
	 * reversed tuple is its request's tuple. */
	__u16 sport;
	__u16 dport;
	/* Destination port for the policy lookup, network byte order; for
	 * ICMP the bytes (type, code), i.e. type << 8 | code. */
	__u16 policy_port;
	__u8 family;		/* POLC_FAMILY_* */
	__u8 protocol;		/* IPPROTO_* of the L4 header */
	__u8 policy_port_known; /* policy_port is meaningful for this protocol */
	/* Both 0 for non-first fragments, which have no ports. */
	__u8 ct_may_be_reply;		  /* look the packet up as a reply */
	__u8 ct_may_create;		  /* a let-through packet opens an entry */
	__u16 l4_offset;		  /* of the L4 header, when ports were read */
	struct polc_related_flow related; /* ICMP errors only */
	__u32 frontend_id;		  /* set by polc_service_translate */
};

struct polc_l4_ports {
	__be16 source;
	__be16 dest;
};

struct polc_icmp_echo {
	__u8 type;
	__u8 code;
	__u16 checksum;
	__be16 identifier;
	__be16 sequence;
};

/* Reads the packet embedded in an ICMP error at offset (its IP header) into
 * pkt->related. Leaves related.valid = 0 when it is not a flow conntrack
 * could know (truncated, a fragment, an extension header, another protocol). */
static __always_inline void polc_parse_icmp_error(struct __sk_buff *skb, __u32 offset,
						  struct polc_packet *pkt)
{
	struct polc_related_flow *flow = &pkt->related;
	__u8 echo_request;

	if (pkt->family == POLC_FAMILY_IPV4) {
		struct iphdr ip;

		if (polc_load(skb, offset, ip) < 0)
			return;
		if (ip.version != 4 || ip.ihl < 5 ||
		    (bpf_ntohs(ip.frag_off) & POLC_IPV4_FRAG_OFFSET_MASK))
			return;
		flow->saddr[0] = ip.saddr;
		flow->daddr[0] = ip.daddr;
		flow->protocol = ip.protocol;
		offset += ip.ihl * 4;
		echo_request = POLC_ICMP_ECHO_REQUEST;
		if (flow->protocol == POLC_IPPROTO_ICMPV6)
			return;
	} else {
		struct ipv6hdr ip;

		if (polc_load(skb, offset, ip) < 0)
			return;
		if (ip.version != 6)
			return;
		__builtin_memcpy(flow->saddr, &ip.saddr, sizeof(flow->saddr));
		__builtin_memcpy(flow->daddr, &ip.daddr, sizeof(flow->daddr));
		flow->protocol = ip.nexthdr;
		offset += sizeof(ip);
		echo_request = POLC_ICMPV6_ECHO_REQUEST;
		if (flow->protocol == POLC_IPPROTO_ICMP)
			return;
	}

	switch (flow->protocol) {
	case POLC_IPPROTO_TCP:
	case POLC_IPPROTO_UDP:
	case POLC_IPPROTO_SCTP: {
		struct polc_l4_ports ports;

		if (polc_load(skb, offset, ports) < 0)
			return;
		flow->sport = ports.source;
		flow->dport = ports.dest;
		break;
	}
	case POLC_IPPROTO_ICMP:
	case POLC_IPPROTO_ICMPV6: {
		struct polc_icmp_echo icmp;

		if (polc_load(skb, offset, icmp) < 0)
			return;
		if (icmp.type != echo_request)
			return;
		flow->sport = icmp.identifier; /* as polc_parse_l4 keys a request */
		break;
	}
	default:
		return;
	}
	flow->valid = 1;
}

static __always_inline int polc_icmp_is_error(__u8 protocol, __u8 type)
{
	if (protocol == POLC_IPPROTO_ICMP)
		return type == POLC_ICMP_DEST_UNREACH || type == POLC_ICMP_TIME_EXCEEDED ||
		       type == POLC_ICMP_PARAMETER_PROBLEM;
	return type >= POLC_ICMPV6_DEST_UNREACH && type <= POLC_ICMPV6_PARAMETER_PROBLEM;
}

/* Fills ports from the L4 header at l4_offset. */
static __always_inline int polc_parse_l4(struct __sk_buff *skb, __u32 l4_offset, __u8 hop_limit,
					 struct polc_packet *pkt)
{
	pkt->ct_may_be_reply = 1;
	pkt->ct_may_create = 1;
	pkt->l4_offset = l4_offset;

	switch (pkt->protocol) {
	case POLC_IPPROTO_TCP:
	case POLC_IPPROTO_UDP:
	case POLC_IPPROTO_SCTP: {
		struct polc_l4_ports ports;

		if (polc_load(skb, l4_offset, ports) < 0)
			return POLC_PARSE_MALFORMED;
		pkt->sport = ports.source;
		pkt->dport = ports.dest;
		pkt->policy_port = ports.dest;
		pkt->policy_port_known = 1;
		return POLC_PARSE_OK;
	}
	case POLC_IPPROTO_ICMP:
	case POLC_IPPROTO_ICMPV6: {
		struct polc_icmp_echo icmp;
		__u8 request, reply;

		if (polc_load(skb, l4_offset, icmp) < 0)
			return POLC_PARSE_MALFORMED;
		if (pkt->protocol == POLC_IPPROTO_ICMP) {
			request = POLC_ICMP_ECHO_REQUEST;
			reply = POLC_ICMP_ECHO_REPLY;
		} else {
			request = POLC_ICMPV6_ECHO_REQUEST;
			reply = POLC_ICMPV6_ECHO_REPLY;
			if (POLC_PASS_IPV6_ND && hop_limit == 255 &&
			    icmp.type >= POLC_ICMPV6_ND_FIRST && icmp.type <= POLC_ICMPV6_ND_LAST)
				return POLC_PARSE_PASS;
		}
		pkt->policy_port = bpf_htons(((__u16)icmp.type << 8) | icmp.code);
		pkt->policy_port_known = 1;
		/* Only an echo request opens an entry and only an echo reply
		 * can be a reply: anything else (including a peer's request
		 * with identifier 0) must not look like a reply. */
		pkt->ct_may_create = icmp.type == request;
		pkt->ct_may_be_reply = icmp.type == reply;
		if (icmp.type == request)
			pkt->sport = icmp.identifier;
		else if (icmp.type == reply)
			pkt->dport = icmp.identifier;
		else if (polc_icmp_is_error(pkt->protocol, icmp.type))
			polc_parse_icmp_error(skb, l4_offset + POLC_ICMP_ERROR_HEADER_LEN, pkt);
		return POLC_PARSE_OK;
	}
	default:
		return POLC_PARSE_OK;
	}
}

static __always_inline int polc_parse_ipv4(struct __sk_buff *skb, __u32 offset,
					   struct polc_packet *pkt)
{
	struct iphdr ip;
	__u32 header_len;

	if (polc_load(skb, offset, ip) < 0)
		return POLC_PARSE_MALFORMED;
	if (ip.version != 4 || ip.ihl < 5)
		return POLC_PARSE_MALFORMED;
	header_len = ip.ihl * 4;
	if (bpf_ntohs(ip.tot_len) < header_len)
		return POLC_PARSE_MALFORMED;

	pkt->family = POLC_FAMILY_IPV4;
	pkt->protocol = ip.protocol;
	pkt->saddr[0] = ip.saddr;
	pkt->daddr[0] = ip.daddr;

	if (bpf_ntohs(ip.frag_off) & POLC_IPV4_FRAG_OFFSET_MASK)
		return POLC_PARSE_OK; /* non-first fragment: no L4 header */
	return polc_parse_l4(skb, offset + header_len, 0, pkt);
}

struct polc_ipv6_ext {
	__u8 nexthdr;
	__u8 hdrlen;
	__be16 frag_off; /* fragment header only */
};

static __always_inline int polc_parse_ipv6(struct __sk_buff *skb, __u32 offset,
					   struct polc_packet *pkt)
{
	struct ipv6hdr ip;
	__u8 nexthdr;
	int i;

	if (polc_load(skb, offset, ip) < 0)
		return POLC_PARSE_MALFORMED;
	if (ip.version != 6)
		return POLC_PARSE_MALFORMED;

	pkt->family = POLC_FAMILY_IPV6;
	__builtin_memcpy(pkt->saddr, &ip.saddr, sizeof(pkt->saddr));
	__builtin_memcpy(pkt->daddr, &ip.daddr, sizeof(pkt->daddr));
	nexthdr = ip.nexthdr;
	offset += sizeof(ip);

#pragma unroll
	for (i = 0; i < POLC_IPV6_MAX_EXT_HEADERS; i++) {
		struct polc_ipv6_ext ext;

		if (nexthdr != POLC_IPPROTO_HOPOPTS && nexthdr != POLC_IPPROTO_ROUTING &&
		    nexthdr != POLC_IPPROTO_DSTOPTS && nexthdr != POLC_IPPROTO_FRAGMENT &&
		    nexthdr != POLC_IPPROTO_AH)
			break;
		if (polc_load(skb, offset, ext) < 0)
			return POLC_PARSE_MALFORMED;
		if (nexthdr == POLC_IPPROTO_FRAGMENT) {
			if (bpf_ntohs(ext.frag_off) & POLC_IPV6_FRAG_OFFSET_MASK) {
				pkt->protocol = ext.nexthdr;
				return POLC_PARSE_OK; /* non-first fragment */
			}
			offset += 8;
		} else if (nexthdr == POLC_IPPROTO_AH) {
			offset += ((__u32)ext.hdrlen + 2) * 4;
		} else {
			offset += ((__u32)ext.hdrlen + 1) * 8;
		}
		nexthdr = ext.nexthdr;
	}
	if (nexthdr == POLC_IPPROTO_HOPOPTS || nexthdr == POLC_IPPROTO_ROUTING ||
	    nexthdr == POLC_IPPROTO_DSTOPTS || nexthdr == POLC_IPPROTO_FRAGMENT ||
	    nexthdr == POLC_IPPROTO_AH)
		return POLC_PARSE_MALFORMED; /* too many extension headers */

	pkt->protocol = nexthdr;
	return polc_parse_l4(skb, offset, ip.hop_limit, pkt);
}

/* Parses the frame at the start of the skb (tc programs see the MAC header).
 * parse_ipv6 = 0: IPv6 is POLC_PARSE_PASS unparsed (a program whose IPv6
 * verdict is always pass, see POLC_IPV6 in polc_features.h). */
static __always_inline int polc_parse_packet(struct __sk_buff *skb, struct polc_packet *pkt,
					     const int parse_ipv6)
{
	__be16 ethertype;

	if (polc_load(skb, __builtin_offsetof(struct ethhdr, h_proto), ethertype) < 0)
		return POLC_PARSE_NOT_IP; /* shorter than an Ethernet header */

	switch (bpf_ntohs(ethertype)) {
	case ETH_P_IP:
		return polc_parse_ipv4(skb, sizeof(struct ethhdr), pkt);
	case ETH_P_IPV6:
		if (!parse_ipv6)
			return POLC_PARSE_PASS;
		return polc_parse_ipv6(skb, sizeof(struct ethhdr), pkt);
	case POLC_ETH_P_8021Q:
	case POLC_ETH_P_8021AD:
		return POLC_PARSE_MALFORMED;
	default:
		return POLC_PARSE_NOT_IP;
	}
}

#endif /* POLC_PARSE_H */
