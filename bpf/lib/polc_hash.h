/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow hash: picks a service backend's slot in a Maglev table (the
 * slot is hash % table size). The datapath and the compiler include this
 * same header, the one from BPF C and the other from C++, so both compute
 * the same value for a flow; polc's unit tests pin the value of one tuple.
 *
 * The hash is Bob Jenkins' lookup3 (hashword): its mix over each group of
 * three 32-bit words and its final avalanche over the last group. The
 * tuple is ten words, always the same count, so the code is straight-line:
 * three mixes and one final, no loop, no helper call, only arithmetic.
 *  words 0-3  saddr      network byte order as in the packet; IPv4 in [0],
 *  words 4-7  daddr      the other words 0
 *  word 8     sport << 16 | dport (each network byte order as in the packet)
 *  word 9     protocol << 8 | family (IPPROTO_*, POLC_FAMILY_*)
 * The seed is fixed, POLC_FLOW_HASH_SEED. The words are the tuple's bytes
 * read as host integers, so the value is the same on every host of one
 * byte order; C++ and BPF on one node always agree.
 */
#ifndef POLC_HASH_H
#define POLC_HASH_H

#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* "polc" in ASCII. Changing it moves every flow of every service. */
#define POLC_FLOW_HASH_SEED 0x706f6c63u

/* The number of 32-bit words polc_flow_hash hashes. */
#define POLC_FLOW_HASH_WORDS 10u

static __always_inline __u32 polc_hash_rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> (32 - shift));
}

/* lookup3's mix: folds three more words into the state, reversibly. */
static __always_inline void polc_hash_mix(__u32 *a, __u32 *b, __u32 *c)
{
	*a -= *c;
	*a ^= polc_hash_rol32(*c, 4);
	*c += *b;
	*b -= *a;
	*b ^= polc_hash_rol32(*a, 6);
	*a += *c;
	*c -= *b;
	*c ^= polc_hash_rol32(*b, 8);
	*b += *a;
	*a -= *c;
	*a ^= polc_hash_rol32(*c, 16);
	*c += *b;
	*b -= *a;
	*b ^= polc_hash_rol32(*a, 19);
	*a += *c;
	*c -= *b;
	*c ^= polc_hash_rol32(*b, 4);
	*b += *a;
}

/* lookup3's final: makes every bit of the state affect every bit of c. */
static __always_inline void polc_hash_final(__u32 *a, __u32 *b, __u32 *c)
{
	*c ^= *b;
	*c -= polc_hash_rol32(*b, 14);
	*a ^= *c;
	*a -= polc_hash_rol32(*c, 11);
	*b ^= *a;
	*b -= polc_hash_rol32(*a, 25);
	*c ^= *b;
	*c -= polc_hash_rol32(*b, 16);
	*a ^= *c;
	*a -= polc_hash_rol32(*c, 4);
	*b ^= *a;
	*b -= polc_hash_rol32(*a, 14);
	*c ^= *b;
	*c -= polc_hash_rol32(*b, 24);
}

/* The flow's hash; the layout of the words is described at the top. */
static __always_inline __u32 polc_flow_hash(const __u32 saddr[4], const __u32 daddr[4], __u16 sport,
					    __u16 dport, __u8 protocol, __u8 family)
{
	__u32 a, b, c;

	a = b = c = 0xdeadbeefu + (POLC_FLOW_HASH_WORDS << 2) + POLC_FLOW_HASH_SEED;

	a += saddr[0];
	b += saddr[1];
	c += saddr[2];
	polc_hash_mix(&a, &b, &c);
	a += saddr[3];
	b += daddr[0];
	c += daddr[1];
	polc_hash_mix(&a, &b, &c);
	a += daddr[2];
	b += daddr[3];
	c += ((__u32)sport << 16) | dport;
	polc_hash_mix(&a, &b, &c);
	a += ((__u32)protocol << 8) | family;
	polc_hash_final(&a, &b, &c);
	return c;
}

#endif /* POLC_HASH_H */
