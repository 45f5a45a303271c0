/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The upper floor of bench/verdict: the least a policy verdict can cost.
 * Parses Ethernet, IPv4 and the TCP/UDP ports, then does one hash lookup
 * of (source address, protocol, destination port): any policy program does
 * at least this much per packet. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct floor_key {
  __u32 saddr;
  __u16 dport; /* network byte order */
  __u8 protocol;
  __u8 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, struct floor_key);
  __type(value, __u8);
} floor_allowed SEC(".maps");

SEC("tc")
int floor_lookup(struct __sk_buff* skb) {
  void* data = (void*)(long)skb->data;
  void* data_end = (void*)(long)skb->data_end;
  struct ethhdr* eth = data;
  struct floor_key key = {};
  struct iphdr* ip;
  void* l4;

  if ((void*)(eth + 1) > data_end) return TC_ACT_SHOT;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return TC_ACT_OK;
  ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->ihl < 5) return TC_ACT_SHOT;
  l4 = (void*)ip + ip->ihl * 4;
  key.saddr = ip->saddr;
  key.protocol = ip->protocol;
  if (ip->protocol == IPPROTO_TCP) {
    struct tcphdr* tcp = l4;

    if ((void*)(tcp + 1) > data_end) return TC_ACT_SHOT;
    key.dport = tcp->dest;
  } else if (ip->protocol == IPPROTO_UDP) {
    struct udphdr* udp = l4;

    if ((void*)(udp + 1) > data_end) return TC_ACT_SHOT;
    key.dport = udp->dest;
  }
  return bpf_map_lookup_elem(&floor_allowed, &key) ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
