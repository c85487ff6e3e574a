/** What a phone registers a personal token with: the connect URI and it as a QR code. */
export interface ConnectInfo {
  connectUri: string;
  /** An SVG data URL of the QR code for `connectUri`. */
  qr: string;
}

/** Fills `admin.connectUri` (`{host}`, `{secret}` URL-encoded) and draws its QR code. */
export async function connectInfo(template: string, host: string, secret: string): Promise<ConnectInfo> {
  const connectUri = template.replaceAll('{host}', host).replaceAll('{secret}', encodeURIComponent(secret));
  // Loaded on the first personal token: ~10 MiB a sidecar that never makes one should not carry.
  const { default: QRCode } = await import('qrcode');
  const svg = await QRCode.toString(connectUri, { type: 'svg' });
  return { connectUri, qr: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` };
}
