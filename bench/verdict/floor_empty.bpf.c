/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The lower floor of bench/verdict: a tc program that lets every packet
 * through without reading it, i.e. the cost of BPF_PROG_TEST_RUN itself. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

SEC("tc")
int floor_empty(struct __sk_buff* skb) {
  (void)skb;
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
