import type { Judged } from '../auth/decide.js';
import type { DenyReason } from '../auth/decision.js';
import type { TokenSource } from '../auth/token-sources.js';
import type { CredentialLabel } from '../auth/verdict.js';
import type { ExchangeTrace } from '../tracing/tracing.js';
import type { AnsweringExchange } from './answering-exchange.js';

/** The request a proxy in front asks about: its method and target, before any check. */
export interface AskedRequest {
  method: string;
  url: string;
}

/** What the decision port's own request carried: its method, target and header fields. */
export interface AskingRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: readonly string[];
}

/** Longest method accepted from a header; the longest registered method (UPDATEREDIRECTREF) has 17 characters. */
const MAX_METHOD_LENGTH = 32;

/**
 * Reads which request the asker wants judged (docs/decision-api/README.md), or why it cannot be read.
 *
 * With `pathPrefix` set and the asking request's own target under it, the asker is Envoy's
 * ext_authz HTTP service: it sends the original method and `pathPrefix` + the original target,
 * and passes on client headers it is told to allow. The own method and target are then what is
 * judged and forwarded headers are ignored, so a client cannot pick what gets judged by
 * sending its own `X-Forwarded-Uri` through an `allowed_headers` pattern that lets it pass.
 *
 * Otherwise the method comes from `X-Forwarded-Method` (Traefik, Caddy), else
 * `X-Original-Method` (nginx, as its configuration sets it), else the request's own; the target
 * from `X-Forwarded-Uri`, else `X-Original-URI`, else the request's own target (less
 * `pathPrefix`). A source that is present decides, even when its value is empty: an empty or
 * repeated field is refused, never skipped for the next source, since a proxy that meant to set
 * it and failed must not have a weaker source stand in. The target is only read here; the
 * decision step checks it as it checks the proxy port's.
 */
export function readQuestion(asking: AskingRequest, pathPrefix: string): AskedRequest | DenyReason {
  if (pathPrefix !== '') {
    const own = ownTarget(asking.url, pathPrefix);
    if (own !== undefined) return { method: asking.method, url: own };
  }
  const raw = asking.rawHeaders;
  // One pass: the four names have distinct lengths (18, 17, 15, 14), so most fields cost a compare.
  let forwardedMethod: string | undefined;
  let originalMethod: string | undefined;
  let forwardedUri: string | undefined;
  let originalUri: string | undefined;
  let isRepeated = false;
  let isMethodRepeated = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const length = name.length;
    if (length !== 18 && length !== 17 && length !== 15 && length !== 14) continue;
    const lower = name.toLowerCase();
    const value = raw[i + 1]!;
    if (lower === 'x-forwarded-method') {
      if (forwardedMethod !== undefined) isMethodRepeated = true;
      forwardedMethod = value;
    } else if (lower === 'x-original-method') {
      if (originalMethod !== undefined) isMethodRepeated = true;
      originalMethod = value;
    } else if (lower === 'x-forwarded-uri') {
      if (forwardedUri !== undefined) isRepeated = true;
      forwardedUri = value;
    } else if (lower === 'x-original-uri') {
      if (originalUri !== undefined) isRepeated = true;
      originalUri = value;
    }
  }
  // A repeat anywhere is refused: two values for one field means two proxies (or a client and a
  // proxy) disagree about what is asked.
  if (isMethodRepeated) return 'bad_method';
  if (isRepeated) return 'bad_target';

  let method = asking.method;
  const headerMethod = forwardedMethod ?? originalMethod;
  if (headerMethod !== undefined) {
    if (!isMethodToken(headerMethod)) return 'bad_method';
    method = headerMethod;
  }

  const headerUri = forwardedUri ?? originalUri;
  let url: string | undefined;
  if (headerUri !== undefined) {
    if (!isTargetText(headerUri)) return 'bad_target';
    url = headerUri;
  } else {
    url = pathPrefix === '' ? asking.url : ownTarget(asking.url, pathPrefix);
    if (url === undefined) return 'bad_target';
  }
  return { method, url };
}

/** The own target less the prefix, when it starts with the prefix and a `/`. */
function ownTarget(url: string, pathPrefix: string): string | undefined {
  if (url.length > pathPrefix.length && url.startsWith(pathPrefix) && url.charCodeAt(pathPrefix.length) === 47 /* / */) {
    return url.slice(pathPrefix.length);
  }
  return undefined;
}

/**
 * RFC 9110 §9.1: a method is a token (§5.6.2), case-sensitive. `WEBSOCKET` is the routes'
 * pseudo-method for an upgrade, never a method a client sends, so it is refused here too.
 */
export function isMethodToken(text: string): boolean {
  if (text.length === 0 || text.length > MAX_METHOD_LENGTH || text === 'WEBSOCKET') return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f || TCHAR[c] !== 1) return false;
  }
  return true;
}

/** RFC 9110 §5.6.2 tchar: digits, letters and ! # $ % & ' * + - . ^ _ ` | ~ (1 in the table). */
const TCHAR = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;

/**
 * A target from a header holds only what a request line may (RFC 9112 §3.2: visible ASCII):
 * a header value may also carry spaces, tabs and bytes above 0x7e, which no request line the
 * proxy port reads could, so the two ports never judge targets the other could not be sent.
 */
function isTargetText(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/**
 * One question on the decision port, as the shared decision step reads it: the asked method and
 * target, the asking request's own header fields (where the token is), and the exchange that
 * carries the answer. Where the use came from (lastUsedIp) is the asking proxy's address: the
 * client's, in X-Forwarded-For, is the proxy's word and is not trusted for it.
 */
export class Question implements Judged {
  credential: CredentialLabel = 'none';
  tokenSource: TokenSource | undefined = undefined;
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];

  constructor(
    readonly exchange: AnsweringExchange,
    asked: AskedRequest,
  ) {
    this.method = asked.method;
    this.url = asked.url;
    this.rawHeaders = exchange.rawHeaders;
  }

  get isDone(): boolean {
    return this.exchange.isDone;
  }

  /** The asking exchange's spans (docs/tracing.md). */
  get trace(): ExchangeTrace {
    return this.exchange.trace;
  }

  /** Set by the decision step: the route pattern matched, kept on the exchange for its span. */
  get route(): string | undefined {
    return this.exchange.route;
  }

  set route(route: string | undefined) {
    this.exchange.route = route;
  }

  get remoteAddress(): string | undefined {
    return this.exchange.remoteAddress;
  }

  userAgent(): string | undefined {
    return this.exchange.userAgent();
  }
}
