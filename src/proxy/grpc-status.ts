/**
 * gRPC status codes (grpc/doc/statuscodes.md) for the HTTP statuses Tollgate answers with, so a
 * refused call reads as a gRPC error to the client's stub instead of an HTTP error it cannot
 * parse. 414, 417 and 431 are the client's own faults, like 400.
 */
const GRPC_STATUS = new Map<number, number>([
  [400, 3], // INVALID_ARGUMENT
  [401, 16], // UNAUTHENTICATED
  [403, 7], // PERMISSION_DENIED
  [404, 12], // UNIMPLEMENTED
  [405, 12],
  [414, 3],
  [417, 3],
  [429, 8], // RESOURCE_EXHAUSTED
  [431, 3],
  [502, 14], // UNAVAILABLE
  [503, 14],
  [504, 4], // DEADLINE_EXCEEDED
]);

export const GRPC_UNAVAILABLE = 14;
export const GRPC_UNAUTHENTICATED = 16;
export const GRPC_PERMISSION_DENIED = 7;
export const GRPC_RESOURCE_EXHAUSTED = 8;

/** The gRPC status for an HTTP status; 2 UNKNOWN for one Tollgate never refuses with. */
export function grpcStatusFor(httpStatus: number): number {
  return GRPC_STATUS.get(httpStatus) ?? 2;
}

/**
 * True for `application/grpc`, `application/grpc+proto`, `application/grpc+json`: a gRPC call
 * (PROTOCOL-HTTP2.md). Not `application/grpc-web…`: gRPC-Web is another protocol, which a gRPC
 * server does not speak, so it is forwarded as an ordinary request.
 */
export function isGrpcContentType(value: string | undefined): boolean {
  if (value === undefined || value.length < 16 || value.slice(0, 16).toLowerCase() !== 'application/grpc') return false;
  const next = value.charCodeAt(16);
  return Number.isNaN(next) || next === 0x2b /* + */ || next === 0x3b /* ; */;
}

/** `grpc-message` is percent-encoded (PROTOCOL-HTTP2.md): bytes outside printable ASCII, and `%`. */
export function grpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
