/**
 * packetdrill's three IP modes (`--ip_version=`), as its config.c defines them:
 *
 * | mode | socket domain | bind/connect address | packets on the wire |
 * | --- | --- | --- | --- |
 * | `ipv4` | AF_INET | IPv4 | IPv4 |
 * | `ipv4-mapped-ipv6` | AF_INET6 | IPv4-mapped IPv6 (`::ffff:192.168.0.1`) | IPv4 |
 * | `ipv6` | AF_INET6 | IPv6 | IPv6 |
 *
 * The same script runs in each: `socket(..., SOCK_STREAM, …)`, `bind(3, ..., ...)` and
 * `connect(3, ..., ...)` take the mode's domain and addresses, and packet lines are built and
 * read in the mode's wire family. Google's run_all.py runs every script in all three modes (its
 * variants, with their own arguments: `RUN_ALL_VARIANTS`); FreeBSD's tcp-testsuite names the mode
 * in each script (`--ip_version=ipv6` in its `*-ipv6.pkt`).
 */
import type { ScriptOption } from './script.js';

/** One of packetdrill's IP modes. */
export type IpVersion = 'ipv4' | 'ipv4-mapped-ipv6' | 'ipv6';

/** The modes, in run_all.py's order of variants. */
export const IP_VERSIONS: readonly IpVersion[] = ['ipv4', 'ipv4-mapped-ipv6', 'ipv6'];

/** The mode `text` names, or null. */
export function parseIpVersion(text: string | undefined): IpVersion | null {
  return IP_VERSIONS.find((version) => version === text) ?? null;
}

/** The family of the packets a mode puts on the wire (config.c's wire_protocol). */
export function wireFamily(version: IpVersion): 4 | 6 {
  return version === 'ipv6' ? 6 : 4;
}

/** The family of the sockets a mode opens when a script writes `...` for the domain (config.c's socket_domain). */
export function socketFamily(version: IpVersion): 4 | 6 {
  return version === 'ipv4' ? 4 : 6;
}

/**
 * packetdrill's default addresses in a mode that uses IPv6 on the wire (config.c): the local
 * (tun) address in the unique local prefix fd3d:fa7b:d17d::/48 (RFC 4193; packetdrill picks a
 * random host there, the runner the first), the remote one in the documentation prefix (RFC
 * 3849). The IPv4 modes keep the runner's IPv4 defaults (DEFAULT_DRILL_SETTINGS).
 */
export const IPV6_DEFAULTS = { localIp: 'fd3d:fa7b:d17d::1', remoteIp: '2001:db8::1', prefixLength: 48 } as const;

/**
 * Google's run_all.py (gtests/net/packetdrill): the arguments it gives each variant. Its IPv6
 * variant raises the MTU to 1520 so that the MSS stays 1460 (1520 − 40 − 20), the value every
 * script writes; its addresses differ from config.c's defaults. Its `-D CMSG_LEVEL_IP=…` and
 * `-D CMSG_TYPE_RECVERR=…` are what the runner gives those names in each mode anyway
 * (src/drill/syscalls.ts).
 */
export const RUN_ALL_VARIANTS: Readonly<Record<IpVersion, readonly Pick<ScriptOption, 'name' | 'value'>[]>> = {
  ipv4: [
    { name: 'ip_version', value: 'ipv4' },
    { name: 'local_ip', value: '192.168.0.1' },
    { name: 'remote_ip', value: '192.0.2.1' },
  ],
  'ipv4-mapped-ipv6': [
    { name: 'ip_version', value: 'ipv4-mapped-ipv6' },
    { name: 'local_ip', value: '192.168.0.1' },
    { name: 'remote_ip', value: '192.0.2.1' },
  ],
  ipv6: [
    { name: 'ip_version', value: 'ipv6' },
    { name: 'mtu', value: '1520' },
    { name: 'local_ip', value: 'fd3d:a0b:17d6::1' },
    { name: 'remote_ip', value: 'fd3d:fa7b:d17d::1' },
  ],
};

/**
 * Whether run_all.py runs the script at `path` in `version`: a script named `…v6.pkt` only in
 * IPv6, one named `…v4.pkt` only in the IPv4 modes, any other in all three.
 */
export function runAllRuns(path: string, version: IpVersion): boolean {
  if (path.endsWith('v6.pkt')) return version === 'ipv6';
  if (path.endsWith('v4.pkt')) return version !== 'ipv6';
  return true;
}
