/**
 * Frame filters for `ustack dissect -Y EXPR`: a small subset of Wireshark's display-filter
 * language, evaluated over a Dissection's Wireshark-named fields, with tshark 4.0's meaning for
 * each construct it accepts. Anything beyond the subset is an error naming the part it cannot
 * take, never a silently different answer.
 *
 *   expression  :=  or
 *   or          :=  and { ("||" | "or") and }
 *   and         :=  not { ("&&" | "and") not }
 *   not         :=  ("!" | "not") not  |  "(" or ")"  |  test
 *   test        :=  FIELD [ RELATION VALUE ]
 *   RELATION    :=  "==" | "!=" | "<" | ">" | "<=" | ">="  (or eq ne lt gt le ge)
 *
 * - `FIELD` alone is true when the frame has the field (or the protocol: `tcp`, `arp`, `sll`…).
 * - `==`, `<`, `>`, `<=`, `>=` are true when any occurrence of the field satisfies them (a
 *   field occurs twice in an ICMP error: `ip.src` of the packet and of the quoted datagram);
 *   `!=` when every occurrence differs (tshark ≥ 3.6). With the field absent all are false.
 * - Values: numbers in decimal or 0x hex; True/False for flags; IPv4 and IPv6 addresses, with
 *   a /prefix for == and != (`ip.addr == 10.0.0.0/8`, `ipv6.addr == fd00::/8`); MAC addresses and byte strings as
 *   hex bytes separated by `:`, `-` or `.`, or not at all; "quoted strings" only for byte
 *   fields (compared with their UTF-8 bytes, as tshark does).
 * - `tcp.port`, `udp.port`, `ip.addr`, `ipv6.addr` and `eth.addr` are either end's;
 *   `tcp.flags.fin`, `.syn`, `.reset`, `.push`, `.ack`, `.urg`, `.ece`, `.cwr` the flag bits.
 * Not taken (each an error): contains, matches, in {…}, ~=, ===, slices [a:b], functions,
 * arithmetic, bitwise &, field-to-field comparisons, octal numbers, negative numbers.
 */
import { fail, ok, type Result } from '../core/result.js';
import type { Dissection, LayerKind } from './dissection.js';
import { fieldBytes, fieldValues, FILTER_FIELDS, FILTER_PROTOCOLS, parseHexBytes, parseIpv4, parseIpv6, type FilterFieldType } from './filter-fields.js';

export { describeFilterFields, FILTER_FIELDS, FILTER_PROTOCOLS, type FilterFieldType } from './filter-fields.js';

/** Why a filter was refused: a sentence naming the part, and where it starts in the text. */
export interface DisplayFilterError {
  readonly message: string;
  /** Offset of the offending part in the filter text. */
  readonly at: number;
}

/** A compiled filter. */
export interface DisplayFilter {
  /** The filter's text, as given. */
  readonly text: string;
  /** Whether the frame passes. */
  matches(dissection: Dissection): boolean;
}

type Relation = '==' | '!=' | '<' | '>' | '<=' | '>=';
/** A value to compare with: a number, or bytes (addresses and byte strings), optionally a prefix. */
type Operand = { readonly kind: 'number'; readonly value: number } | { readonly kind: 'bytes'; readonly value: Uint8Array; readonly prefixBits?: number };
type Node =
  | { readonly kind: 'and' | 'or'; readonly left: Node; readonly right: Node }
  | { readonly kind: 'not'; readonly operand: Node }
  | { readonly kind: 'protocol'; readonly layer: LayerKind }
  | { readonly kind: 'present'; readonly field: string }
  | { readonly kind: 'compare'; readonly field: string; readonly type: FilterFieldType; readonly relation: Relation; readonly operand: Operand };

interface Token {
  readonly kind: 'word' | 'string' | 'symbol';
  readonly text: string;
  readonly at: number;
  /** The decoded bytes of a string token. */
  readonly bytes?: Uint8Array;
}

class FilterSyntaxError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

const SUBSET = 'fields and protocols, ==, !=, <, >, <=, >=, &&, ||, !, parentheses';
const WORD_RELATIONS: Readonly<Record<string, Relation>> = { eq: '==', ne: '!=', lt: '<', gt: '>', le: '<=', ge: '>=' };
const UNSUPPORTED_WORDS = new Set(['contains', 'matches', 'in', 'xor', 'any', 'all', 'bitwise_and']);

/** Compiles `text`; an error names the first part outside the subset or out of place. */
export function compileDisplayFilter(text: string): Result<DisplayFilter, DisplayFilterError> {
  try {
    const tokens = tokenize(text);
    if (tokens.length === 0) throw new FilterSyntaxError('the filter is empty', 0);
    const parser = new Parser(tokens, text.length);
    const tree = parser.expression();
    parser.expectEnd();
    return ok({ text, matches: (dissection) => evaluate(tree, fieldValues(dissection), dissection) });
  } catch (error) {
    if (error instanceof FilterSyntaxError) return fail({ message: error.message, at: error.at });
    throw error;
  }
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    const three = text.slice(i, i + 3);
    if (three === '===' || three === '!==') throw new FilterSyntaxError(`'${three}' is not in the subset (${SUBSET})`, i);
    if (two === '~=') throw new FilterSyntaxError(`'~=' is not in the subset (${SUBSET})`, i);
    if (['==', '!=', '<=', '>=', '&&', '||'].includes(two)) {
      tokens.push({ kind: 'symbol', text: two, at: i });
      i += 2;
      continue;
    }
    if ('()<>!'.includes(c)) {
      tokens.push({ kind: 'symbol', text: c, at: i });
      i++;
      continue;
    }
    if (c === '"') {
      const { bytes, end } = readString(text, i);
      tokens.push({ kind: 'string', text: text.slice(i, end), at: i, bytes });
      i = end;
      continue;
    }
    const word = /^[A-Za-z0-9_.:/-]+/.exec(text.slice(i));
    if (word === null) throw new FilterSyntaxError(`'${c}' is not in the subset (${SUBSET})`, i);
    tokens.push({ kind: 'word', text: word[0], at: i });
    i += word[0].length;
  }
  return tokens;
}

/** A double-quoted string with \\ escapes (\\", \\\\, \\xhh, \\n, \\t, \\r); its UTF-8 bytes. */
function readString(text: string, start: number): { bytes: Uint8Array; end: number } {
  const out: number[] = [];
  const encoder = new TextEncoder();
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '"') return { bytes: Uint8Array.from(out), end: i + 1 };
    if (c !== '\\') {
      out.push(...encoder.encode(c));
      continue;
    }
    const next = text[++i];
    if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (next === 'n' || next === 't' || next === 'r') {
      out.push({ n: 10, t: 9, r: 13 }[next]);
    } else if (next === '"' || next === '\\') {
      out.push(next.charCodeAt(0));
    } else {
      throw new FilterSyntaxError(`the escape '\\${next ?? ''}' is not in the subset`, i - 1);
    }
  }
  throw new FilterSyntaxError('a string is not closed', start);
}

class Parser {
  private index = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly length: number,
  ) {}

  expression(): Node {
    let left = this.and();
    while (this.accept('||', 'or')) left = { kind: 'or', left, right: this.and() };
    return left;
  }

  expectEnd(): void {
    const token = this.tokens[this.index];
    if (token === undefined) return;
    if (token.text === ')') throw new FilterSyntaxError(`')' has no '(' to close`, token.at);
    const relation = token.kind === 'symbol' ? relationOf(token) : WORD_RELATIONS[token.text];
    if (relation !== undefined) throw new FilterSyntaxError(`'${token.text}' cannot follow a comparison (chained comparisons are not in the subset)`, token.at);
    throw new FilterSyntaxError(`'${token.text}' is out of place: expected && or || before it`, token.at);
  }

  private and(): Node {
    let left = this.not();
    while (this.accept('&&', 'and')) left = { kind: 'and', left, right: this.not() };
    return left;
  }

  private not(): Node {
    if (this.accept('!', 'not')) return { kind: 'not', operand: this.not() };
    const token = this.next('a field, a protocol, ! or (');
    if (token.text === '(') {
      const inner = this.expression();
      const close = this.tokens[this.index];
      if (close?.text !== ')') throw new FilterSyntaxError(`'(' at character ${token.at + 1} is not closed`, close?.at ?? this.length);
      this.index++;
      return inner;
    }
    return this.test(token);
  }

  private test(token: Token): Node {
    if (token.kind !== 'word') throw new FilterSyntaxError(`'${token.text}' is out of place: expected a field, a protocol, ! or (`, token.at);
    const name = token.text;
    if (UNSUPPORTED_WORDS.has(name)) throw new FilterSyntaxError(`'${name}' is not in the subset (${SUBSET})`, token.at);
    const type = FILTER_FIELDS.get(name);
    const layer = FILTER_PROTOCOLS.get(name);
    if (type === undefined && layer === undefined) {
      if (/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/.test(name)) {
        throw new FilterSyntaxError(`'${name}' is not a field or protocol ustack dissect knows (\`ustack dissect --help\` lists them)`, token.at);
      }
      throw new FilterSyntaxError(`'${name}' is out of place: a test starts with a field or protocol`, token.at);
    }
    const following = this.tokens[this.index];
    if (following?.text === '[') throw new FilterSyntaxError(`slices ('[') are not in the subset (${SUBSET})`, following.at);
    const relation = following === undefined ? undefined : following.kind === 'symbol' ? relationOf(following) : WORD_RELATIONS[following.text];
    if (following !== undefined && following.kind === 'word' && UNSUPPORTED_WORDS.has(following.text)) {
      throw new FilterSyntaxError(`'${following.text}' is not in the subset (${SUBSET})`, following.at);
    }
    if (relation === undefined) return type !== undefined ? { kind: 'present', field: name } : { kind: 'protocol', layer: layer as LayerKind };
    this.index++;
    if (type === undefined) throw new FilterSyntaxError(`'${name}' is a protocol: it can be tested for, not compared (${following?.text})`, token.at);
    const valueToken = this.next(`a value after '${following?.text}'`);
    const operand = parseOperand(valueToken, name, type, relation);
    return { kind: 'compare', field: name, type, relation, operand };
  }

  private accept(symbol: string, word: string): boolean {
    const token = this.tokens[this.index];
    if (token === undefined || (token.text !== symbol && !(token.kind === 'word' && token.text === word))) return false;
    this.index++;
    return true;
  }

  private next(what: string): Token {
    const token = this.tokens[this.index];
    if (token === undefined) throw new FilterSyntaxError(`the filter ends where ${what} should be`, this.length);
    this.index++;
    return token;
  }
}

function relationOf(token: Token): Relation | undefined {
  return ['==', '!=', '<', '>', '<=', '>='].includes(token.text) ? (token.text as Relation) : undefined;
}

/** The literal `token` as a value of a field of `type`, or an error naming it. */
function parseOperand(token: Token, field: string, type: FilterFieldType, relation: Relation): Operand {
  const bad = (why: string): never => {
    throw new FilterSyntaxError(`'${token.text}' ${why}`, token.at);
  };
  if (token.kind === 'symbol') bad(`is out of place: ${field} ${relation} needs a value`);
  if (token.kind === 'string') {
    if (type !== 'bytes') bad(`is a string, and ${field} is not a byte field (strings compare only with bytes)`);
    return { kind: 'bytes', value: token.bytes ?? new Uint8Array(0) };
  }
  const text = token.text;
  if (FILTER_FIELDS.has(text) || FILTER_PROTOCOLS.has(text)) bad(`is a field: comparing two fields is not in the subset`);
  switch (type) {
    case 'number':
    case 'boolean': {
      if (type === 'boolean' && (text === 'True' || text === 'TRUE')) return { kind: 'number', value: 1 };
      if (type === 'boolean' && (text === 'False' || text === 'FALSE')) return { kind: 'number', value: 0 };
      if (/^-\d/.test(text)) bad('is negative: negative numbers are not in the subset');
      if (/^0\d/.test(text)) bad('has a leading zero: octal numbers are not in the subset');
      if (!/^(\d+|0[xX][0-9a-fA-F]+)$/.test(text)) bad(`is not a number (${field} takes decimal or 0x hex${type === 'boolean' ? ', or True/False' : ''})`);
      const value = Number(text);
      if (!Number.isSafeInteger(value)) bad('is too large a number');
      return { kind: 'number', value };
    }
    case 'ipv4': {
      const [address, prefix, extra] = text.split('/');
      const bytes = parseIpv4(address);
      if (bytes === undefined || extra !== undefined) bad(`is not an IPv4 address (${field} takes a.b.c.d or a.b.c.d/n)`);
      if (prefix === undefined) return { kind: 'bytes', value: bytes as Uint8Array };
      if (!/^\d{1,2}$/.test(prefix) || Number(prefix) > 32) bad('has a prefix length that is not 0 to 32');
      if (relation !== '==' && relation !== '!=') bad(`is a prefix: only == and != take one`);
      return { kind: 'bytes', value: bytes as Uint8Array, prefixBits: Number(prefix) };
    }
    case 'ipv6': {
      const [address, prefix, extra] = text.split('/');
      const bytes = parseIpv6(address);
      if (bytes === undefined || extra !== undefined) bad(`is not an IPv6 address (${field} takes an IPv6 address or address/n)`);
      if (prefix === undefined) return { kind: 'bytes', value: bytes as Uint8Array };
      if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > 128) bad('has a prefix length that is not 0 to 128');
      if (relation !== '==' && relation !== '!=') bad(`is a prefix: only == and != take one`);
      return { kind: 'bytes', value: bytes as Uint8Array, prefixBits: Number(prefix) };
    }
    case 'mac':
    case 'bytes': {
      const bytes = parseHexBytes(text);
      if (bytes === undefined) bad(`is not ${type === 'mac' ? 'a MAC address' : 'a byte string'} (hex bytes, separated by ':', '-' or '.', or not)`);
      if (type === 'mac' && bytes?.length !== 6) bad('is not a MAC address: it needs 6 bytes');
      return { kind: 'bytes', value: bytes as Uint8Array };
    }
  }
}

function evaluate(node: Node, values: Map<string, string[]>, dissection: Dissection): boolean {
  switch (node.kind) {
    case 'and':
      return evaluate(node.left, values, dissection) && evaluate(node.right, values, dissection);
    case 'or':
      return evaluate(node.left, values, dissection) || evaluate(node.right, values, dissection);
    case 'not':
      return !evaluate(node.operand, values, dissection);
    case 'protocol':
      return dissection.layers.some((layer) => layer.layer === node.layer);
    case 'present':
      return values.has(node.field);
    case 'compare': {
      const found = values.get(node.field);
      if (found === undefined) return false;
      const results = found.map((value) => compare(value, node.type, node.relation, node.operand));
      // tshark ≥ 3.6: != holds when no occurrence is equal; the others when any occurrence holds.
      return node.relation === '!=' ? results.every(Boolean) : results.some(Boolean);
    }
  }
}

/** One occurrence (as tshark prints it) against the operand. */
function compare(text: string, type: FilterFieldType, relation: Relation, operand: Operand): boolean {
  let order: number;
  if (operand.kind === 'number') {
    let value = Number(text);
    let wanted = operand.value;
    if (type === 'boolean') {
      value = value !== 0 ? 1 : 0;
      wanted = wanted !== 0 ? 1 : 0;
    }
    order = Math.sign(value - wanted);
  } else {
    const value = fieldBytes(text, type);
    if (value === undefined) return false;
    if (operand.prefixBits !== undefined) {
      const inside = samePrefix(value, operand.value, operand.prefixBits);
      return relation === '==' ? inside : !inside;
    }
    order = compareBytes(value, operand.value);
  }
  switch (relation) {
    case '==':
      return order === 0;
    case '!=':
      return order !== 0;
    case '<':
      return order < 0;
    case '>':
      return order > 0;
    case '<=':
      return order <= 0;
    case '>=':
      return order >= 0;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return Math.sign(a.length - b.length);
}

function samePrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let bit = 0; bit < bits; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((a[bit >> 3] & mask) !== (b[bit >> 3] & mask)) return false;
  }
  return true;
}
