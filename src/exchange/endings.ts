/** `live_exchanges{protocol}` label values: what an open exchange is carried as. */
export const LIVE_PROTOCOLS = ['http', 'websocket', 'grpc'] as const;
export type LiveProtocol = (typeof LIVE_PROTOCOLS)[number];

/** Why an open exchange was ended by Tollgate (`exchanges_ended_total{reason}`). */
export const END_REASONS = ['revoked', 'expired', 'rights', 'quota', 'config'] as const;
export type EndReason = (typeof END_REASONS)[number];
