/**
 * Stable, semantically opaque interface identifiers (RFC 7217 §5), the identifiers of this
 * host's link-local and SLAAC addresses (RFC 8064 recommends them over EUI-64):
 *
 *   RID = F(Prefix, Net_Iface, Network_ID, DAD_Counter, secret_key)
 *
 * with F = HMAC-SHA-256 keyed by the secret (§5: "a cryptographic hash ... SHA-256 could be an
 * option"), its first 64 bits taken. The same prefix, interface and secret always give the same
 * identifier (stable across restarts when the secret is kept), a different prefix an unrelated
 * one (no tracking across networks, §1). After a DAD failure DAD_Counter is incremented and a
 * new identifier tried (§6), up to IDGEN_RETRIES times.
 */
import { createHmac } from 'node:crypto';
import type { Ipv6Address } from './ipv6-address.js';

/** RFC 7217 §6: identifiers tried after DAD failures before giving up. */
export const IDGEN_RETRIES = 3;

/**
 * The 64-bit interface identifier for `prefix` (its first 64 bits) on interface `interfaceName`
 * (Net_Iface, §5: the name is a stable choice), `dadCounter` DAD failures so far, under
 * `secret`. Identifiers RFC 5453 reserves (all zero, the subnet-router anycast; the reserved
 * subnet anycasts fdff:ffff:ffff:ff80–ffff) are skipped by trying the next counter, as §5 says.
 */
export function stableInterfaceId(prefix: Ipv6Address, interfaceName: string, dadCounter: number, secret: Uint8Array): Uint8Array {
  for (let counter = dadCounter; ; counter++) {
    const hmac = createHmac('sha256', secret);
    hmac.update(prefix.subarray(0, 8));
    hmac.update(interfaceName);
    // Network_ID is optional (§5) and not used: no SSID on a wired link.
    hmac.update(Uint8Array.of(counter >>> 24, (counter >>> 16) & 0xff, (counter >>> 8) & 0xff, counter & 0xff));
    const id = new Uint8Array(hmac.digest().subarray(0, 8));
    if (!isReservedInterfaceId(id)) return id;
  }
}

/** RFC 5453 §3: the reserved interface identifiers (and the all-zero subnet-router anycast, RFC 4291 §2.6.1). */
export function isReservedInterfaceId(id: Uint8Array): boolean {
  if (id.every((byte) => byte === 0)) return true;
  const anycast = id[0] === 0xfd && id[1] === 0xff && id[2] === 0xff && id[3] === 0xff && id[4] === 0xff && id[5] === 0xff && id[6] === 0xff && id[7] >= 0x80;
  // 0200:5eff:fe00:0000-5212 (proxy mobile IPv6 and others, RFC 5453 §3) and 0200:5eff:fe00:5213-ffff.
  const iana = id[0] === 0x02 && id[1] === 0x00 && id[2] === 0x5e && id[3] === 0xff && id[4] === 0xfe;
  return anycast || iana;
}
