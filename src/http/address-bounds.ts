import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** One CIDR as parsed: its network address, prefix length and family. */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128); undefined for anything else. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (family === undefined) return undefined;
  const max = family === 'ipv4' ? 32 : 128;
  if (slash === -1) return { address, prefix: max, family };
  const digits = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(digits)) return undefined;
  const prefix = Number(digits);
  return prefix <= max ? { address, prefix, family } : undefined;
}

/** A client address as compared: an IPv4-mapped IPv6 address (`::ffff:127.0.0.2`, a dual-stack socket's) as its IPv4 address. */
function plainAddress(address: string): string {
  return address.length > 7 && address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** A set of CIDRs, parsed once, answering whether an address is in it. */
export class AddressList {
  private readonly list = new BlockList();
  readonly isEmpty: boolean;

  constructor(cidrs: readonly string[]) {
    let count = 0;
    for (const text of cidrs) {
      const cidr = parseCidr(text);
      if (cidr === undefined) continue;
      this.list.addSubnet(cidr.address, cidr.prefix, cidr.family);
      count++;
    }
    this.isEmpty = count === 0;
  }

  /** Whether `address` (as a socket reports it) lies in one of the CIDRs; an unknown address never does. */
  has(address: string | undefined): boolean {
    if (address === undefined || this.isEmpty) return false;
    const plain = plainAddress(address);
    if (isIPv4(plain)) return this.list.check(plain, 'ipv4');
    return isIPv6(plain) && this.list.check(plain, 'ipv6');
  }
}

/** Each token's allowFrom parsed once per cached record (the record object is the key, so an edit, which makes a new record, parses again). */
const parsed = new WeakMap<object, AddressList>();

/** The allowFrom list of a record, parsed the first time it is asked for. */
export function allowListOf(record: { readonly allowFrom?: readonly string[] | undefined }): AddressList {
  let list = parsed.get(record);
  if (list === undefined) {
    list = new AddressList(record.allowFrom ?? []);
    parsed.set(record, list);
  }
  return list;
}

/**
 * The client's address: the socket's, or the first `X-Forwarded-For` hop (the client as the first
 * proxy saw it, RFC 7239 §5.2 for the forwarded chain) when the peer is a trusted proxy. A
 * missing or malformed hop leaves the peer's address.
 */
export function clientAddress(peer: string | undefined, rawHeaders: readonly string[], trusted: AddressList | undefined): string | undefined {
  if (trusted === undefined || !trusted.has(peer)) return peer;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length !== 15 || name.toLowerCase() !== 'x-forwarded-for') continue;
    const value = rawHeaders[i + 1]!;
    const comma = value.indexOf(',');
    const first = (comma === -1 ? value : value.slice(0, comma)).trim();
    const bare = first.startsWith('[') && first.endsWith(']') ? first.slice(1, -1) : first;
    return isIPv4(bare) || isIPv6(bare) ? bare : peer;
  }
  return peer;
}
