/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Compile-time features of an endpoint program. The generated C defines
 * them from the endpoint's tables (codegen/src/specialize_endpoint.cpp) before
 * it includes polc_datapath.h; whatever it leaves undefined gets the full
 * datapath. They change the code, never a value: endpoints that differ only
 * in constants (identity, table contents of the same shape) share an object.
 *
 * Per direction (EGRESS = polc_from_ep, INGRESS = polc_to_ep):
 *  POLC_<DIR>_ISOLATED        no matching allow -> drop
 *  POLC_<DIR>_AUDIT_ISOLATED  no matching allow -> pass as audit (isolated by
 *                             audit policies only)
 *  POLC_<DIR>_PEER_LOOKUP     the table has entries for specific peers: look
 *                             the peer up in the ipcache and then in the table
 *  POLC_<DIR>_WILDCARD_LOOKUP the table has wildcard-peer (identity 0) entries
 *  POLC_<DIR>_POLICY_PREFIXES the key prefix lengths the direction's table
 *                             holds, as a mask of POLC_POLICY_PREFIX_BIT(len)
 *                             (len 32 and 48..64): the policy lookup probes
 *                             exactly these, longest first. Undefined: all.
 * With neither lookup and not isolated, a direction only tracks its flows
 * for conntrack (every packet passes).
 *  POLC_<DIR>_INLINE_ENTRIES  0: the lookups go to the direction's policy
 *                             map. N > 0: the table is tiny and compiled in
 *                             as code, N slots of .rodata config that the
 *                             loader fills (polc_inline_policy.h); only the
 *                             slot count is shape, the entries are values.
 *
 * Per object:
 *  POLC_SERVICES  1 when the cluster has services with a vip: packets
 *             leaving the endpoint to a frontend are translated to a backend
 *             and their replies back (polc_service.h). Unlike the others it
 *             defaults to 0 and is emitted only when 1, so that the C of a
 *             cluster without services stays as it was.
 *  POLC_IPV6  0 when no IPv6 packet can match a rule: the ipcache has no
 *             IPv6 prefix (so every IPv6 peer is WORLD) and no table has a
 *             WORLD or wildcard entry. Only chosen when both directions are
 *             equally isolated, which fixes the verdict of every IPv6
 *             packet: both open -> pass without parsing; both isolated ->
 *             drop after parsing (neighbour discovery still passes, and
 *             nothing IPv6 is ever tracked, so no reply can be missed).
 */
#ifndef POLC_FEATURES_H
#define POLC_FEATURES_H

#include "polc_structs.h"

#ifndef POLC_EGRESS_ISOLATED
#define POLC_EGRESS_ISOLATED 0
#endif
#ifndef POLC_INGRESS_ISOLATED
#define POLC_INGRESS_ISOLATED 0
#endif
#ifndef POLC_EGRESS_AUDIT_ISOLATED
#define POLC_EGRESS_AUDIT_ISOLATED 0
#endif
#ifndef POLC_INGRESS_AUDIT_ISOLATED
#define POLC_INGRESS_AUDIT_ISOLATED 0
#endif
#ifndef POLC_EGRESS_PEER_LOOKUP
#define POLC_EGRESS_PEER_LOOKUP 1
#endif
#ifndef POLC_INGRESS_PEER_LOOKUP
#define POLC_INGRESS_PEER_LOOKUP 1
#endif
#ifndef POLC_EGRESS_WILDCARD_LOOKUP
#define POLC_EGRESS_WILDCARD_LOOKUP 1
#endif
#ifndef POLC_INGRESS_WILDCARD_LOOKUP
#define POLC_INGRESS_WILDCARD_LOOKUP 1
#endif
#ifndef POLC_EGRESS_POLICY_PREFIXES
#define POLC_EGRESS_POLICY_PREFIXES POLC_POLICY_PREFIXES_ALL
#endif
#ifndef POLC_INGRESS_POLICY_PREFIXES
#define POLC_INGRESS_POLICY_PREFIXES POLC_POLICY_PREFIXES_ALL
#endif
#ifndef POLC_EGRESS_INLINE_ENTRIES
#define POLC_EGRESS_INLINE_ENTRIES 0
#endif
#ifndef POLC_INGRESS_INLINE_ENTRIES
#define POLC_INGRESS_INLINE_ENTRIES 0
#endif
#ifndef POLC_IPV6
#define POLC_IPV6 1
#endif
#ifndef POLC_SERVICES
#define POLC_SERVICES 0
#endif

#endif /* POLC_FEATURES_H */
