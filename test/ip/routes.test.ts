import { describe, expect, it } from 'vitest';
import { parseIpv4Cidr } from '../../src/ip/address.js';
import { RouteTable } from '../../src/ip/routes.js';
import { addr } from '../support/packets.js';

const cidr = (text: string) => parseIpv4Cidr(text)!;

describe('RouteTable: longest-prefix match (RFC 1812 §5.2.4.3)', () => {
  it('picks the most specific prefix covering the destination, whatever the insertion order', () => {
    const table = new RouteTable();
    table.add({ destination: cidr('0.0.0.0/0'), interfaceName: 'default', gateway: addr('10.0.0.254') });
    table.add({ destination: cidr('10.1.2.0/24'), interfaceName: 'slash24' });
    table.add({ destination: cidr('10.0.0.0/8'), interfaceName: 'slash8' });
    table.add({ destination: cidr('10.1.2.3/32'), interfaceName: 'host' });
    table.add({ destination: cidr('10.1.0.0/16'), interfaceName: 'slash16' });
    expect(table.lookup(addr('10.1.2.3'))?.interfaceName).toBe('host');
    expect(table.lookup(addr('10.1.2.4'))?.interfaceName).toBe('slash24');
    expect(table.lookup(addr('10.1.3.4'))?.interfaceName).toBe('slash16');
    expect(table.lookup(addr('10.2.0.1'))?.interfaceName).toBe('slash8');
    expect(table.lookup(addr('192.0.2.1'))?.interfaceName).toBe('default');
  });

  it('the default route 0.0.0.0/0 matches everything; without it an uncovered destination has no route', () => {
    const table = new RouteTable();
    table.add({ destination: cidr('10.0.0.0/24'), interfaceName: 'eth0' });
    expect(table.lookup(addr('10.0.1.1'))).toBe(null);
    table.add({ destination: cidr('0.0.0.0/0'), interfaceName: 'eth0', gateway: addr('10.0.0.1') });
    expect(table.lookup(addr('255.255.255.255'))?.gateway).toBe(addr('10.0.0.1'));
    expect(table.lookup(addr('0.0.0.0'))?.destination.prefixLength).toBe(0);
  });

  it('among equal prefixes the lower metric wins, then the route added first', () => {
    const table = new RouteTable();
    table.add({ destination: cidr('0.0.0.0/0'), interfaceName: 'backup', metric: 200 });
    table.add({ destination: cidr('0.0.0.0/0'), interfaceName: 'primary', metric: 100 });
    table.add({ destination: cidr('0.0.0.0/0'), interfaceName: 'also-100', metric: 100 });
    expect(table.lookup(addr('8.8.8.8'))?.interfaceName).toBe('primary');
    // A longer prefix beats any metric.
    table.add({ destination: cidr('8.0.0.0/8'), interfaceName: 'specific', metric: 9999 });
    expect(table.lookup(addr('8.8.8.8'))?.interfaceName).toBe('specific');
    // No metric is metric 0.
    table.add({ destination: cidr('0.0.0.0/0'), interfaceName: 'zero' });
    expect(table.lookup(addr('9.9.9.9'))?.interfaceName).toBe('zero');
  });

  it('normalises a prefix to its network address (10.0.0.7/24 is 10.0.0.0/24)', () => {
    const table = new RouteTable();
    table.add({ destination: cidr('10.0.0.7/24'), interfaceName: 'eth0' });
    expect(table.list()[0].destination).toEqual({ address: addr('10.0.0.0'), prefixLength: 24 });
    expect(table.lookup(addr('10.0.0.200'))?.interfaceName).toBe('eth0');
  });

  it('removes routes by prefix, optionally only those through one interface', () => {
    const table = new RouteTable();
    table.add({ destination: cidr('10.0.0.0/24'), interfaceName: 'eth0' });
    table.add({ destination: cidr('10.0.0.0/24'), interfaceName: 'eth1', metric: 5 });
    table.add({ destination: cidr('10.0.0.0/16'), interfaceName: 'eth0' });
    expect(table.remove(cidr('10.0.0.9/24'), 'eth0')).toBe(1);
    expect(table.lookup(addr('10.0.0.1'))?.interfaceName).toBe('eth1');
    expect(table.remove(cidr('10.0.0.0/24'))).toBe(1);
    expect(table.lookup(addr('10.0.0.1'))?.destination.prefixLength).toBe(16);
    expect(table.remove(cidr('192.168.0.0/16'))).toBe(0);
  });

  it('formats like `ip route`', () => {
    const table = new RouteTable();
    table.add({ destination: cidr('10.0.0.0/24'), interfaceName: 'eth0' });
    table.add({ destination: cidr('0.0.0.0/0'), interfaceName: 'eth0', gateway: addr('10.0.0.254'), metric: 10, mtu: 1280 });
    expect(table.format()).toBe('10.0.0.0/24 dev eth0\ndefault via 10.0.0.254 dev eth0 metric 10 mtu 1280');
  });
});
