/**
 * DNS messages (RFC 1035 §4.1): the codec the resolver of `ustack/dns` uses. A message is a
 * 12-octet header, then questions, answers, authority and additional records; names are labels
 * (§3.1), possibly ending in a compression pointer to an earlier name (§4.1.4).
 *
 * Decoding takes untrusted bytes and never throws: a message that is short, whose counts or
 * lengths run past its end, whose name is longer than 255 octets (§2.3.4) or whose pointer does
 * not point strictly backwards (which also makes loops impossible) is refused with a reason.
 * Record data is kept as bytes; `recordValue` reads the types the resolver answers with.
 */
import { fail, ok, type Result } from '../core/result.js';
import { formatIpv4Address } from '../ip/address.js';
import { formatIpv6Address } from '../ip/ipv6-address.js';

/** RR TYPE values (RFC 1035 §3.2.2; AAAA: RFC 3596 §2.1; ANY, a QTYPE: RFC 1035 §3.2.3, RFC 8482). */
export const DnsType = {
  /** A host's IPv4 address (RFC 1035 §3.4.1). */
  A: 1,
  /** An authoritative name server of the zone (RFC 1035 §3.3.11). */
  NS: 2,
  /** The canonical name this name is an alias of (RFC 1035 §3.3.1). */
  CNAME: 5,
  /** The start of a zone of authority (RFC 1035 §3.3.13); the resolver does not answer with it. */
  SOA: 6,
  /** A name this name points to, as in reverse lookups under in-addr.arpa (RFC 1035 §3.3.12). */
  PTR: 12,
  /** A mail exchange and its preference (RFC 1035 §3.3.9). */
  MX: 15,
  /** One or more character strings (RFC 1035 §3.3.14). */
  TXT: 16,
  /** A host's IPv6 address (RFC 3596 §2.1). */
  AAAA: 28,
  /** QTYPE `*`: all records of the name (RFC 1035 §3.2.3); a server may answer with only some (RFC 8482). */
  ANY: 255,
} as const;

/** CLASS IN, the Internet (RFC 1035 §3.2.4). */
export const DNS_CLASS_IN = 1;

/** RCODE values (RFC 1035 §4.1.1). */
export const DnsRcode = {
  /** No error condition. */
  NOERROR: 0,
  /** Format error: the server could not interpret the query. The resolver's EFORMERR. */
  FORMERR: 1,
  /** Server failure: the server could not process the query because of a problem of its own. The resolver asks the next server; ESERVFAIL if none answers. */
  SERVFAIL: 2,
  /** Name error (RFC 1035's "Name Error"): from an authoritative server, the name does not exist. The resolver's ENOTFOUND. */
  NXDOMAIN: 3,
  /** Not implemented: the server does not support this kind of query. The resolver asks the next server; ENOTIMP if none answers. */
  NOTIMP: 4,
  /** Refused: the server will not answer, for policy reasons. The resolver asks the next server; EREFUSED if none answers. */
  REFUSED: 5,
} as const;

/** The header's length (RFC 1035 §4.1.1). */
export const DNS_HEADER_LENGTH = 12;

/** The longest name, in octets on the wire (RFC 1035 §2.3.4). */
const MAX_NAME_LENGTH = 255;
/** The longest label (RFC 1035 §2.3.4). */
const MAX_LABEL_LENGTH = 63;
/** The largest message over UDP without EDNS (RFC 1035 §2.3.4, §4.2.1). */
export const DNS_UDP_MAX_LENGTH = 512;

/** One question (RFC 1035 §4.1.2). */
export interface DnsQuestion {
  /** The name asked about, dot-separated, without the final dot, as sent (case kept). */
  readonly name: string;
  /** QTYPE. */
  readonly type: number;
  /** QCLASS. */
  readonly class: number;
}

/** One resource record (RFC 1035 §4.1.3), its data as bytes. */
export interface DnsRecord {
  /** The owner name. */
  readonly name: string;
  /** TYPE. */
  readonly type: number;
  /** CLASS. */
  readonly class: number;
  /** TTL in seconds (an unsigned 32-bit value; RFC 2181 §8 reads one with the top bit set as 0). */
  readonly ttl: number;
  /** RDATA. */
  readonly data: Uint8Array;
  /** Where RDATA starts in the message, for the names inside it that point back (§4.1.4). */
  readonly dataOffset: number;
}

/** A whole message. */
export interface DnsMessage {
  /** ID: a reply carries its query's (RFC 1035 §4.1.1). */
  readonly id: number;
  /** QR: a response, not a query. */
  readonly response: boolean;
  /** OPCODE: 0 for a standard query. */
  readonly opcode: number;
  /** AA: the answer is authoritative. */
  readonly authoritative: boolean;
  /** TC: the message was truncated to fit. */
  readonly truncated: boolean;
  /** RD: recursion desired. */
  readonly recursionDesired: boolean;
  /** RA: recursion available. */
  readonly recursionAvailable: boolean;
  /** RCODE: {@link DnsRcode}. */
  readonly rcode: number;
  /** The question section (QDCOUNT entries). */
  readonly questions: readonly DnsQuestion[];
  /** The answer section (ANCOUNT records). */
  readonly answers: readonly DnsRecord[];
  /** The authority section (NSCOUNT records): name servers of the zone. */
  readonly authorities: readonly DnsRecord[];
  /** The additional section (ARCOUNT records). */
  readonly additionals: readonly DnsRecord[];
  /** The bytes decoded (record data may point into them). */
  readonly bytes: Uint8Array;
}

/** A record to encode: its data as bytes (see the `*Data` helpers). */
export interface DnsRecordInput {
  /** The owner name, dot-separated (a final dot is optional). */
  readonly name: string;
  /** TYPE: {@link DnsType}. */
  readonly type: number;
  /** CLASS; default {@link DNS_CLASS_IN}. */
  readonly class?: number;
  /** TTL in seconds, written as 32 bits. */
  readonly ttl: number;
  /** RDATA, written as given (e.g. {@link aRecordData}, {@link nameRecordData}). */
  readonly data: Uint8Array;
}

/** A message to encode. Names are written whole, without compression. */
export interface DnsMessageInput {
  /** ID, 16 bits: a reply carries its query's. */
  readonly id: number;
  /** QR: a response (default false: a query). */
  readonly response?: boolean;
  /** OPCODE, 4 bits (default 0, a standard query). */
  readonly opcode?: number;
  /** AA: the answer is authoritative (default false). */
  readonly authoritative?: boolean;
  /** TC: the message was truncated (default false). Only the flag: nothing is cut. */
  readonly truncated?: boolean;
  /** RD: recursion desired (default false). */
  readonly recursionDesired?: boolean;
  /** RA: recursion available (default false). */
  readonly recursionAvailable?: boolean;
  /** RCODE, 4 bits: {@link DnsRcode} (default NOERROR). */
  readonly rcode?: number;
  /** The question section (default none). */
  readonly questions?: readonly DnsQuestion[];
  /** The answer section (default none). */
  readonly answers?: readonly DnsRecordInput[];
  /** The authority section (default none). */
  readonly authorities?: readonly DnsRecordInput[];
  /** The additional section (default none). */
  readonly additionals?: readonly DnsRecordInput[];
}

/** Why a message was refused; the resolver counts each as `dns.rx.<reason>`. */
export type DnsDecodeReason = 'truncated' | 'badName' | 'badPointer';

/** A refused message: which check, and a sentence. */
export interface DnsDecodeError {
  readonly reason: DnsDecodeReason;
  readonly message: string;
}

/** Whether `name` can be written: labels of 1–63 octets of ASCII, at most 255 octets in all. */
export function validDnsName(name: string): boolean {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return true;
  // eslint-disable-next-line no-control-regex
  if (!/^[\x00-\x7f]*$/.test(trimmed)) return false;
  const labels = trimmed.split('.');
  if (labels.some((label) => label.length === 0 || label.length > MAX_LABEL_LENGTH)) return false;
  return labels.reduce((total, label) => total + 1 + label.length, 1) <= MAX_NAME_LENGTH;
}

/** A name's wire form: each label with its length, then the root's zero (RFC 1035 §3.1). */
function encodeName(name: string): number[] {
  if (!validDnsName(name)) throw new RangeError(`not a DNS name: ${JSON.stringify(name)}`);
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const out: number[] = [];
  if (trimmed !== '') {
    for (const label of trimmed.split('.')) {
      out.push(label.length);
      for (let i = 0; i < label.length; i++) out.push(label.charCodeAt(i));
    }
  }
  out.push(0);
  return out;
}

function push16(out: number[], value: number): void {
  out.push((value >>> 8) & 0xff, value & 0xff);
}

function push32(out: number[], value: number): void {
  out.push((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

/** Encodes a message (RFC 1035 §4.1). Throws on a name that cannot be written. */
export function encodeDnsMessage(message: DnsMessageInput): Uint8Array {
  const out: number[] = [];
  push16(out, message.id);
  const flags =
    (message.response ? 0x8000 : 0) |
    (((message.opcode ?? 0) & 0xf) << 11) |
    (message.authoritative ? 0x0400 : 0) |
    (message.truncated ? 0x0200 : 0) |
    (message.recursionDesired ? 0x0100 : 0) |
    (message.recursionAvailable ? 0x0080 : 0) |
    ((message.rcode ?? 0) & 0xf);
  push16(out, flags);
  const questions = message.questions ?? [];
  const sections = [message.answers ?? [], message.authorities ?? [], message.additionals ?? []];
  push16(out, questions.length);
  for (const section of sections) push16(out, section.length);
  for (const question of questions) {
    out.push(...encodeName(question.name));
    push16(out, question.type);
    push16(out, question.class);
  }
  for (const section of sections) {
    for (const record of section) {
      out.push(...encodeName(record.name));
      push16(out, record.type);
      push16(out, record.class ?? DNS_CLASS_IN);
      push32(out, record.ttl);
      push16(out, record.data.length);
      out.push(...record.data);
    }
  }
  return Uint8Array.from(out);
}

/** A standard query for one name (RFC 1035 §4.1.1: OPCODE 0, RD set as stub resolvers do). */
export function encodeDnsQuery(id: number, name: string, type: number): Uint8Array {
  return encodeDnsMessage({ id, recursionDesired: true, questions: [{ name, type, class: DNS_CLASS_IN }] });
}

/** RDATA of an A record: four octets. */
export function aRecordData(address: string): Uint8Array {
  const parts = address.split('.').map(Number);
  return Uint8Array.from(parts);
}

/** RDATA of a record that holds one name (NS, CNAME, PTR). */
export function nameRecordData(name: string): Uint8Array {
  return Uint8Array.from(encodeName(name));
}

type NameRead = { readonly name: string; readonly next: number };

/**
 * Reads the name at `offset`: labels, ending at the root or at a pointer to an earlier name
 * (RFC 1035 §4.1.4). `next` is where the name ends in place (after its first pointer).
 */
export function readDnsName(bytes: Uint8Array, offset: number): Result<NameRead, DnsDecodeError> {
  const labels: string[] = [];
  let position = offset;
  let next = -1;
  let length = 1; // the root's zero
  // Each pointer must go strictly backwards, so the walk ends; 128 pointers is already absurd.
  let lowest = offset;
  for (let hops = 0; ;) {
    if (position >= bytes.length) return fail({ reason: 'truncated', message: `name at ${offset} runs past the message` });
    const head = bytes[position];
    if (head === 0) {
      if (next < 0) next = position + 1;
      break;
    }
    const kind = head & 0xc0;
    if (kind === 0xc0) {
      if (position + 1 >= bytes.length) return fail({ reason: 'truncated', message: `pointer at ${position} runs past the message` });
      const target = ((head & 0x3f) << 8) | bytes[position + 1];
      if (next < 0) next = position + 2;
      if (target >= lowest || ++hops > 128) return fail({ reason: 'badPointer', message: `pointer at ${position} to ${target} does not point back` });
      lowest = target;
      position = target;
      continue;
    }
    // 0x40 and 0x80 are reserved label types (RFC 6891 §5 retired the extended ones).
    if (kind !== 0) return fail({ reason: 'badName', message: `label type 0x${kind.toString(16)} at ${position}` });
    if (position + 1 + head > bytes.length) return fail({ reason: 'truncated', message: `label at ${position} runs past the message` });
    length += 1 + head;
    if (length > MAX_NAME_LENGTH) return fail({ reason: 'badName', message: `name at ${offset} is longer than ${MAX_NAME_LENGTH} octets` });
    let label = '';
    for (let i = position + 1; i <= position + head; i++) label += String.fromCharCode(bytes[i]);
    labels.push(label);
    position += 1 + head;
  }
  return ok({ name: labels.join('.'), next });
}

function read16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] << 8) | bytes[offset + 1];
}

/** Decodes a message; refuses rather than throws (see the file's comment). */
export function decodeDnsMessage(bytes: Uint8Array): Result<DnsMessage, DnsDecodeError> {
  if (bytes.length < DNS_HEADER_LENGTH) return fail({ reason: 'truncated', message: `${bytes.length} octets, less than a header` });
  const flags = read16(bytes, 2);
  const counts = [read16(bytes, 4), read16(bytes, 6), read16(bytes, 8), read16(bytes, 10)];
  let offset = DNS_HEADER_LENGTH;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < counts[0]; i++) {
    const name = readDnsName(bytes, offset);
    if (!name.ok) return name;
    offset = name.value.next;
    if (offset + 4 > bytes.length) return fail({ reason: 'truncated', message: `question ${i + 1} runs past the message` });
    questions.push({ name: name.value.name, type: read16(bytes, offset), class: read16(bytes, offset + 2) });
    offset += 4;
  }
  const sections: DnsRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]; i++) {
      const name = readDnsName(bytes, offset);
      if (!name.ok) return name;
      offset = name.value.next;
      if (offset + 10 > bytes.length) return fail({ reason: 'truncated', message: `record ${i + 1} of section ${s + 1} runs past the message` });
      const rawTtl = ((bytes[offset + 4] << 24) | (bytes[offset + 5] << 16) | (bytes[offset + 6] << 8) | bytes[offset + 7]) >>> 0;
      const dataLength = read16(bytes, offset + 8);
      const dataOffset = offset + 10;
      if (dataOffset + dataLength > bytes.length) return fail({ reason: 'truncated', message: `RDATA of record ${i + 1} runs past the message` });
      sections[s].push({
        name: name.value.name,
        type: read16(bytes, offset),
        class: read16(bytes, offset + 2),
        ttl: rawTtl > 0x7fffffff ? 0 : rawTtl,
        data: bytes.subarray(dataOffset, dataOffset + dataLength),
        dataOffset,
      });
      offset = dataOffset + dataLength;
    }
  }
  return ok({
    id: read16(bytes, 0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >>> 11) & 0xf,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
    questions,
    answers: sections[0],
    authorities: sections[1],
    additionals: sections[2],
    bytes,
  });
}

/** A record's value as Node's resolver gives it (`resolveAny`'s objects, without `ttl`). */
export type DnsRecordValue =
  | {
      /** The record's type. */
      readonly type: 'A';
      /** The IPv4 address, dotted decimal. */
      readonly address: string;
    }
  | {
      /** The record's type. */
      readonly type: 'AAAA';
      /** The IPv6 address, in RFC 5952's text form. */
      readonly address: string;
    }
  | {
      /** The record's type. */
      readonly type: 'CNAME' | 'NS' | 'PTR';
      /** The name the record holds (canonical name, name server, or pointer target), without the final dot. */
      readonly value: string;
    }
  | {
      /** The record's type. */
      readonly type: 'MX';
      /** PREFERENCE: lower is preferred. */
      readonly priority: number;
      /** The mail exchange's name. */
      readonly exchange: string;
    }
  | {
      /** The record's type. */
      readonly type: 'TXT';
      /** The record's character strings, each read as UTF-8, in order. */
      readonly entries: string[];
    };

/**
 * Reads the data of an A, AAAA, NS, CNAME, PTR, MX (RFC 1035 §3.3.9) or TXT (§3.3.14) record of
 * `message`; null for other types and for data of the wrong shape.
 */
export function recordValue(message: DnsMessage, record: DnsRecord): DnsRecordValue | null {
  const data = record.data;
  switch (record.type) {
    case DnsType.A:
      return data.length === 4 ? { type: 'A', address: formatIpv4Address(((data[0] << 24) | (data[1] << 16) | (data[2] << 8) | data[3]) >>> 0) } : null;
    case DnsType.AAAA:
      return data.length === 16 ? { type: 'AAAA', address: formatIpv6Address(data) } : null;
    case DnsType.NS:
    case DnsType.CNAME:
    case DnsType.PTR: {
      const name = nameInData(message, record, record.dataOffset);
      const type = record.type === DnsType.NS ? 'NS' : record.type === DnsType.CNAME ? 'CNAME' : 'PTR';
      return name ? { type, value: name } : null;
    }
    case DnsType.MX: {
      if (data.length < 3) return null;
      const exchange = nameInData(message, record, record.dataOffset + 2);
      return exchange ? { type: 'MX', priority: read16(data, 0), exchange } : null;
    }
    case DnsType.TXT: {
      const entries: string[] = [];
      for (let i = 0; i < data.length;) {
        const length = data[i];
        if (i + 1 + length > data.length) return null;
        entries.push(Buffer.from(data.subarray(i + 1, i + 1 + length)).toString('utf8'));
        i += 1 + length;
      }
      return { type: 'TXT', entries };
    }
    default:
      return null;
  }
}

/** A name inside a record's data (it may point back into the message); null if it runs out of the data. */
function nameInData(message: DnsMessage, record: DnsRecord, offset: number): string | null {
  const name = readDnsName(message.bytes, offset);
  if (!name.ok || name.value.next > record.dataOffset + record.data.length) return null;
  return name.value.name;
}
