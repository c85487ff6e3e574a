import { execFile } from 'node:child_process';

export interface CurlResult {
  status: number;
  /** `2` or `1.1`, as curl negotiated it. */
  httpVersion: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Runs the system curl (built with nghttp2) and reads back status, version, headers and body:
 * a real HTTP/2 and TLS client, not Node's, on the other side of Tollgate.
 */
export function curl(args: string[], input?: Buffer): Promise<CurlResult> {
  const marker = '\n--curl-meta--';
  return new Promise((resolve, reject) => {
    const child = execFile(
      'curl',
      ['-sS', '-D', '-', '-w', `${marker}%{http_code} %{http_version}`, '--max-time', '20', ...args],
      { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && !stdout.includes(marker)) return reject(new Error(`curl failed: ${stderr || err.message}`));
        const at = stdout.lastIndexOf(marker);
        const meta = stdout.slice(at + marker.length);
        const [code, version] = meta.split(' ');
        const out = stdout.slice(0, at);
        // Interim and final heads come first; the body follows the last blank line of a head.
        let headText = '';
        let rest = out;
        while (/^HTTP\/[\d.]+ \d{3}/.test(rest)) {
          const end = rest.indexOf('\r\n\r\n');
          headText = rest.slice(0, end);
          rest = rest.slice(end + 4);
        }
        const headers: Record<string, string> = Object.create(null);
        for (const line of headText.split('\r\n').slice(1)) {
          const colon = line.indexOf(':');
          if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        resolve({ status: Number(code), httpVersion: version ?? '', headers, body: rest });
      },
    );
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });
}
