import type { Link } from '../link/link.js';
import type { Ipv4Cidr } from './address.js';

/** A network interface of a stack: a link with an address on it. */
export interface NetworkInterface {
  /** `lo`, `tun0`, `eth0`… unique within a stack. */
  readonly name: string;
  /** The link its frames go out on and come in from (a TUN device, a virtual wire end, loopback). */
  readonly link: Link;
  /** This host's address and the prefix of the attached network (`10.0.0.1/24`). */
  readonly address: Ipv4Cidr;
  /** Largest IP packet sent on this interface. */
  readonly mtu: number;
  /** True for the loopback interface. */
  readonly loopback: boolean;
}
