import { describe, expect, it } from 'vitest';
import {
  cidrBroadcast,
  cidrContains,
  formatIpv4Address,
  formatIpv4Cidr,
  IPV4_BROADCAST,
  isMulticast,
  parseIpv4Address,
  parseIpv4Cidr,
  prefixMask,
  readIpv4Address,
  subnetBroadcast,
  writeIpv4Address,
} from '../../src/ip/address.js';

describe('IPv4 addresses', () => {
  it('parse dotted quads into unsigned 32-bit numbers and format them back', () => {
    expect(parseIpv4Address('0.0.0.0')).toBe(0);
    expect(parseIpv4Address('10.0.0.1')).toBe(0x0a000001);
    expect(parseIpv4Address('255.255.255.255')).toBe(IPV4_BROADCAST);
    expect(parseIpv4Address('192.168.1.200')).toBe(0xc0a801c8);
    for (const text of ['0.0.0.0', '1.2.3.4', '128.0.0.1', '255.255.255.255', '224.0.0.251']) {
      expect(formatIpv4Address(parseIpv4Address(text)!)).toBe(text);
    }
  });

  it('reject anything that is not exactly four decimal octets', () => {
    for (const text of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.0.0.1',
      '1.2.3.-4',
      ' 1.2.3.4',
      '1.2.3.4 ',
      '1..3.4',
      'a.b.c.d',
      '1.2.3.0x4',
      '1.2.3.1000',
      '+1.2.3.4',
    ]) {
      expect(parseIpv4Address(text), text).toBe(null);
    }
  });

  it("reject octets with leading zeros, which inet_aton would read as octal (as inet_pton and Node's net.isIPv4 do)", () => {
    for (const text of ['010.0.0.1', '1.2.3.04', '00.0.0.0', '192.168.001.1']) {
      expect(parseIpv4Address(text), text).toBe(null);
    }
    expect(parseIpv4Address('10.0.0.0')).toBe(0x0a000000);
  });

  it('agree with the four-decimal-octets rule on every join of edge-case octets', () => {
    // The rule written the slow, obvious way, as the parser was before it became one pass.
    const byRule = (text: string): number | null => {
      const parts = text.split('.');
      if (parts.length !== 4) return null;
      let value = 0;
      for (const part of parts) {
        if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return null;
        value = value * 256 + Number(part);
      }
      return value >>> 0;
    };
    const octets = ['', '0', '00', '01', '7', '10', '99', '100', '255', '256', '999', '1000', '1e2', ' 1', '+1', '\u0661'];
    let checked = 0;
    for (const a of octets) {
      for (const b of octets) {
        for (const c of ['0', '255', '01', '']) {
          for (const d of octets) {
            for (const text of [`${a}.${b}.${c}.${d}`, `${a}.${b}.${d}`, `${a}.${b}.${c}.${d}.1`, `${a}.${b}.${c}.${d}.`]) {
              const parsed = parseIpv4Address(text);
              if (parsed !== byRule(text)) expect(parsed, JSON.stringify(text)).toBe(byRule(text));
              checked++;
            }
          }
        }
      }
    }
    expect(checked).toBe(16 * 16 * 4 * 16 * 4);
  });

  it('read and write four big-endian bytes at an offset', () => {
    const bytes = new Uint8Array(6);
    writeIpv4Address(bytes, 1, 0xc0a80001);
    expect([...bytes]).toEqual([0, 192, 168, 0, 1, 0]);
    expect(readIpv4Address(bytes, 1)).toBe(0xc0a80001);
    writeIpv4Address(bytes, 2, IPV4_BROADCAST);
    expect(readIpv4Address(bytes, 2)).toBe(0xffffffff);
  });

  it('recognise multicast as 224.0.0.0/4 exactly', () => {
    expect(isMulticast(parseIpv4Address('224.0.0.0')!)).toBe(true);
    expect(isMulticast(parseIpv4Address('239.255.255.255')!)).toBe(true);
    expect(isMulticast(parseIpv4Address('223.255.255.255')!)).toBe(false);
    expect(isMulticast(parseIpv4Address('240.0.0.0')!)).toBe(false);
    expect(isMulticast(IPV4_BROADCAST)).toBe(false);
  });
});

describe('IPv4 prefixes', () => {
  it('turn a prefix length into a netmask, /0 and /32 included', () => {
    expect(prefixMask(0)).toBe(0);
    expect(prefixMask(1)).toBe(0x80000000);
    expect(prefixMask(8)).toBe(0xff000000);
    expect(prefixMask(24)).toBe(0xffffff00);
    expect(prefixMask(31)).toBe(0xfffffffe);
    expect(prefixMask(32)).toBe(0xffffffff);
  });

  it('parse a.b.c.d/n, a bare address as /32, and refuse malformed prefixes', () => {
    expect(parseIpv4Cidr('10.0.0.1/24')).toEqual({ address: 0x0a000001, prefixLength: 24 });
    expect(parseIpv4Cidr('10.0.0.1')).toEqual({ address: 0x0a000001, prefixLength: 32 });
    expect(parseIpv4Cidr('0.0.0.0/0')).toEqual({ address: 0, prefixLength: 0 });
    for (const text of ['10.0.0.1/33', '10.0.0.1/', '10.0.0.1/-1', '10.0.0.1/2/3', '10.0.0/8', '10.0.0.1/100', '10.0.0.1/a']) {
      expect(parseIpv4Cidr(text), text).toBe(null);
    }
    expect(formatIpv4Cidr(parseIpv4Cidr('192.168.7.9/16')!)).toBe('192.168.7.9/16');
  });

  it('contain exactly the addresses sharing the masked bits', () => {
    const net = parseIpv4Cidr('10.1.2.3/24')!;
    expect(cidrContains(net, parseIpv4Address('10.1.2.0')!)).toBe(true);
    expect(cidrContains(net, parseIpv4Address('10.1.2.255')!)).toBe(true);
    expect(cidrContains(net, parseIpv4Address('10.1.3.0')!)).toBe(false);
    expect(cidrContains(parseIpv4Cidr('0.0.0.0/0')!, IPV4_BROADCAST)).toBe(true);
    expect(cidrContains(parseIpv4Cidr('200.0.0.0/1')!, parseIpv4Address('128.0.0.0')!)).toBe(true);
    expect(cidrContains(parseIpv4Cidr('200.0.0.0/1')!, parseIpv4Address('127.255.255.255')!)).toBe(false);
    expect(cidrContains(parseIpv4Cidr('10.0.0.1/32')!, parseIpv4Address('10.0.0.2')!)).toBe(false);
  });

  it('have a directed broadcast address with all host bits set', () => {
    expect(formatIpv4Address(cidrBroadcast(parseIpv4Cidr('10.0.0.1/24')!))).toBe('10.0.0.255');
    expect(formatIpv4Address(cidrBroadcast(parseIpv4Cidr('172.16.5.4/12')!))).toBe('172.31.255.255');
    expect(formatIpv4Address(cidrBroadcast(parseIpv4Cidr('0.0.0.0/0')!))).toBe('255.255.255.255');
  });
});

describe('subnet broadcast', () => {
  it('is the directed broadcast up to /30, and absent on a /31 or /32 (RFC 3021 §2.2)', () => {
    expect(subnetBroadcast(parseIpv4Cidr('10.0.0.1/30')!)).toBe(parseIpv4Address('10.0.0.3'));
    expect(subnetBroadcast(parseIpv4Cidr('10.0.0.0/31')!)).toBe(null);
    expect(subnetBroadcast(parseIpv4Cidr('10.0.0.7/32')!)).toBe(null);
  });
});
