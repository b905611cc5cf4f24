import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { Rng } from '../../src/core/rng.js';
import { ipv6Bytes, ipv6Text } from '../../src/ip/ip-address.js';
import {
  formatIpv6Address,
  formatIpv6Cidr,
  ipv4MappedAddress,
  ipv6AddressScope,
  ipv6CidrContains,
  ipv6CommonPrefixLength,
  ipv6Equal,
  ipv6FromGroups,
  ipv6MulticastMac,
  ipv6Prefix,
  Ipv6Scope,
  ipv6WithInterfaceId,
  isIpv4MappedAddress,
  isLinkLocalUnicast,
  isUniqueLocal,
  mappedIpv4Address,
  modifiedEui64,
  parseIpv6Address,
  parseIpv6Cidr,
  parseIpv6ScopedAddress,
  solicitedNodeAddress,
  type Ipv6Address,
} from '../../src/ip/ipv6-address.js';

const a = (text: string): Ipv6Address => {
  const address = parseIpv6Address(text);
  if (address === null) throw new Error(`not an address: ${text}`);
  return address;
};

describe('IPv6 address text (RFC 4291 §2.2 in, RFC 5952 out)', () => {
  it('reads every form of RFC 4291 §2.2', () => {
    expect(toHex(a('2001:DB8:0:0:8:800:200C:417A'))).toBe('20010db80000000000080800200c417a');
    expect(toHex(a('2001:db8::8:800:200c:417a'))).toBe('20010db80000000000080800200c417a');
    expect(toHex(a('ff01::101'))).toBe('ff010000000000000000000000000101');
    expect(toHex(a('::1'))).toBe('00000000000000000000000000000001');
    expect(toHex(a('::'))).toBe('00000000000000000000000000000000');
    expect(toHex(a('0:0:0:0:0:0:13.1.68.3'))).toBe('0000000000000000000000000d014403');
    expect(toHex(a('::FFFF:129.144.52.38'))).toBe('00000000000000000000ffff81903426');
    expect(toHex(a('1::2:1.2.3.4'))).toBe('00010000000000000000000201020304');
    expect(toHex(a('1:2:3:4:5:6:7::'))).toBe('00010002000300040005000600070000');
  });

  it('refuses what is not an address', () => {
    for (const text of [
      '',
      ':',
      ':::',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '1::2::3',
      '12345::',
      'g::1',
      '::1.2.3',
      '::1.2.3.256',
      '::01.2.3.4',
      '1:2:3:4:5:6:7:1.2.3.4',
      '1:2:3:4:5:6:7:8::',
      '::1/64',
      'fe80::1%eth0',
      ' ::1',
      ':1::',
      '1:',
    ]) {
      expect(parseIpv6Address(text), text).toBeNull();
    }
  });

  it('writes the RFC 5952 form: lowercase, no leading zeros, the longest (then first) zero run as ::', () => {
    expect(formatIpv6Address(a('2001:0DB8:0000:0000:0000:0000:0000:0001'))).toBe('2001:db8::1'); // §4.1, §4.3
    expect(formatIpv6Address(a('2001:db8:0:1:1:1:1:1'))).toBe('2001:db8:0:1:1:1:1:1'); // §4.2.2: one zero group stays
    expect(formatIpv6Address(a('2001:0:0:1:0:0:0:1'))).toBe('2001:0:0:1::1'); // §4.2.3: the longest run
    expect(formatIpv6Address(a('2001:db8:0:0:1:0:0:1'))).toBe('2001:db8::1:0:0:1'); // §4.2.3: the first of equal runs
    expect(formatIpv6Address(a('::'))).toBe('::');
    expect(formatIpv6Address(a('::1'))).toBe('::1');
    expect(formatIpv6Address(a('1::'))).toBe('1::');
    expect(formatIpv6Address(a('::ffff:c000:280'))).toBe('::ffff:192.0.2.128'); // §5
  });

  it('agrees with glibc inet_pton/inet_ntop (through python3) on 400 random addresses in every text form', () => {
    const rng = new Rng(15);
    const cases: string[] = [];
    for (let n = 0; n < 400; n++) {
      // Zero groups in runs are what :: is about: draw many of them.
      const groups = Array.from({ length: 8 }, () => (rng.nextU32() % 3 === 0 ? 0 : rng.nextU32() & (rng.nextU32() % 2 ? 0xffff : 0xf)));
      if (n % 10 === 0) groups.splice(0, 6, 0, 0, 0, 0, 0, 0xffff);
      const full = groups.map((g) => g.toString(16).padStart(rng.nextU32() % 2 ? 4 : 1, '0')).join(':');
      cases.push(n % 3 === 0 ? full.toUpperCase() : full);
    }
    const python = spawnSync(
      'python3',
      ['-c', 'import socket,sys\nfor t in sys.stdin.read().split():\n  print(socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, t)))'],
      { input: cases.join('\n'), encoding: 'utf8' },
    );
    if (python.status !== 0) throw new Error(`python3: ${python.stderr}`);
    const theirs = python.stdout.trim().split('\n');
    cases.forEach((text, i) => {
      const address = a(text);
      // glibc writes ::a.b.c.d for the deprecated IPv4-compatible form (RFC 4291 §2.5.5.1); RFC 5952 §5 does not ask for it.
      const ipv4Compatible = address.subarray(0, 12).every((byte) => byte === 0) && (address[12] | address[13]) !== 0;
      if (!ipv4Compatible) expect(formatIpv6Address(address), text).toBe(theirs[i]);
      expect(toHex(a(theirs[i])), text).toBe(toHex(address));
    });
  });

  it('reads a zone (RFC 4007 §11.2) and a prefix length (RFC 4291 §2.3)', () => {
    expect(parseIpv6ScopedAddress('fe80::1%eth0')).toEqual({ address: a('fe80::1'), zone: 'eth0' });
    expect(parseIpv6ScopedAddress('fe80::1')).toEqual({ address: a('fe80::1'), zone: undefined });
    expect(parseIpv6ScopedAddress('fe80::1%')).toBeNull();
    expect(parseIpv6ScopedAddress('fe80::1%a%b')).toBeNull();
    expect(parseIpv6Cidr('fd00:7::2/64')).toEqual({ address: a('fd00:7::2'), prefixLength: 64 });
    expect(parseIpv6Cidr('::1')).toEqual({ address: a('::1'), prefixLength: 128 });
    for (const text of ['::/129', '::/', '::/064', '::/-1', '::/1/2', 'x/64']) expect(parseIpv6Cidr(text), text).toBeNull();
    expect(formatIpv6Cidr({ address: a('2001:DB8::'), prefixLength: 32 })).toBe('2001:db8::/32');
  });
});

describe('IPv6 prefixes and what an address says about itself', () => {
  it('prefixes cut at any bit', () => {
    expect(formatIpv6Address(ipv6Prefix(a('2001:db8:abcd:12ff::1'), 60))).toBe('2001:db8:abcd:12f0::');
    expect(formatIpv6Address(ipv6Prefix(a('ffff::ffff'), 0))).toBe('::');
    expect(formatIpv6Address(ipv6Prefix(a('ffff::ffff'), 128))).toBe('ffff::ffff');
    expect(ipv6CidrContains({ address: a('fd00:7::'), prefixLength: 64 }, a('fd00:7::2'))).toBe(true);
    expect(ipv6CidrContains({ address: a('fd00:7::'), prefixLength: 64 }, a('fd00:7:0:1::2'))).toBe(false);
    expect(ipv6CidrContains({ address: a('2001:db8::'), prefixLength: 31 }, a('2001:db9::'))).toBe(true);
    expect(ipv6CidrContains({ address: a('::'), prefixLength: 0 }, a('ff02::1'))).toBe(true);
    expect(ipv6CommonPrefixLength(a('2001:db8::1'), a('2001:db8::1'))).toBe(128);
    expect(ipv6CommonPrefixLength(a('2001:db8::1'), a('2001:db8::2'))).toBe(126);
    expect(ipv6CommonPrefixLength(a('8000::'), a('::'))).toBe(0);
  });

  it('scopes as RFC 6724 §3.1 reads them', () => {
    expect(ipv6AddressScope(a('fe80::1'))).toBe(Ipv6Scope.LINK_LOCAL);
    expect(ipv6AddressScope(a('::1'))).toBe(Ipv6Scope.LINK_LOCAL);
    expect(ipv6AddressScope(a('ff02::1'))).toBe(Ipv6Scope.LINK_LOCAL);
    expect(ipv6AddressScope(a('ff05::2'))).toBe(Ipv6Scope.SITE_LOCAL);
    expect(ipv6AddressScope(a('ff01::1'))).toBe(Ipv6Scope.INTERFACE_LOCAL);
    expect(ipv6AddressScope(a('fd00::1'))).toBe(Ipv6Scope.GLOBAL);
    expect(ipv6AddressScope(a('2001:db8::1'))).toBe(Ipv6Scope.GLOBAL);
    expect(isLinkLocalUnicast(a('febf::1'))).toBe(true);
    expect(isLinkLocalUnicast(a('fec0::1'))).toBe(false);
    expect(isUniqueLocal(a('fc00::'))).toBe(true);
    expect(isUniqueLocal(a('fe00::'))).toBe(false);
  });

  it('IPv4-mapped addresses (RFC 4291 §2.5.5.2) both ways', () => {
    const mapped = ipv4MappedAddress(0x0a000001);
    expect(formatIpv6Address(mapped)).toBe('::ffff:10.0.0.1');
    expect(isIpv4MappedAddress(mapped)).toBe(true);
    expect(mappedIpv4Address(mapped)).toBe(0x0a000001);
    expect(mappedIpv4Address(a('::1.2.3.4'))).toBeNull();
    expect(mappedIpv4Address(a('0:0:0:0:1:ffff:1.2.3.4'))).toBeNull();
    expect(mappedIpv4Address(a('::ffff:255.255.255.255'))).toBe(0xffffffff);
  });

  it('solicited-node groups (RFC 4291 §2.7.1), multicast MACs (RFC 2464 §7), modified EUI-64 (RFC 4291 Appendix A)', () => {
    expect(formatIpv6Address(solicitedNodeAddress(a('fe80::211:22ff:fe33:4455')))).toBe('ff02::1:ff33:4455');
    expect(toHex(ipv6MulticastMac(a('ff02::1:ff33:4455')), ':')).toBe('33:33:ff:33:44:55');
    const mac = Uint8Array.of(0x00, 0x11, 0x22, 0x33, 0x44, 0x55);
    expect(toHex(modifiedEui64(mac))).toBe('021122fffe334455');
    expect(formatIpv6Address(ipv6WithInterfaceId(a('fe80::'), modifiedEui64(mac)))).toBe('fe80::211:22ff:fe33:4455');
    expect(ipv6Equal(ipv6FromGroups([0xfe80, 0, 0, 0, 0x211, 0x22ff, 0xfe33, 0x4455]), a('fe80::211:22ff:fe33:4455'))).toBe(true);
  });
});

describe('IpAddress ⇄ bytes (ip-address.ts), asked for every segment and so remembered', () => {
  it('hands out a fresh array each time: changing one leaves the next answer whole', () => {
    const first = ipv6Bytes('fd00::7');
    first.fill(0xff);
    expect(formatIpv6Address(ipv6Bytes('fd00::7'))).toBe('fd00::7');
    expect(ipv6Bytes('fd00::7')).not.toBe(ipv6Bytes('fd00::7'));
  });

  it('gives each address its own text however many addresses come and go, and none for a buffer changed after', () => {
    const rng = new Rng(11);
    const addresses = Array.from({ length: 40 }, () => rng.bytes(16));
    for (let round = 0; round < 3; round++) {
      for (const address of addresses) {
        expect(ipv6Text(address)).toBe(formatIpv6Address(address));
        expect(ipv6Bytes(ipv6Text(address))).toEqual(address);
      }
    }
    expect(ipv6Text(new Uint8Array(16))).toBe('::');
    const reused = Uint8Array.from(addresses[0]);
    expect(ipv6Text(reused)).toBe(formatIpv6Address(addresses[0]));
    reused[15] ^= 1;
    expect(ipv6Text(reused)).toBe(formatIpv6Address(reused));
  });
});
