import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO = fileURLToPath(new URL('../fixtures/echo.proto', import.meta.url));

export interface Note {
  text?: string;
  data?: Buffer;
  count?: number | string;
}

/** What the echo server saw of each call, for assertions on the upstream side. */
export interface SeenCall {
  method: string;
  metadata: grpc.Metadata;
  /** Date, or Infinity when the call carried no deadline. */
  deadline: grpc.Deadline;
  cancelled: boolean;
}

const definition = protoLoader.loadSync(PROTO, { longs: Number, defaults: true });
const loaded = grpc.loadPackageDefinition(definition) as unknown as { tollgate: { test: { Echo: grpc.ServiceClientConstructor } } };
export const Echo = loaded.tollgate.test.Echo;

export interface EchoServer {
  server: grpc.Server;
  port: number;
  calls: SeenCall[];
  close(): Promise<void>;
}

/** A grpc-js server of the Echo service on a loopback port, over h2c. */
export async function startEchoServer(atPort = 0): Promise<EchoServer> {
  const calls: SeenCall[] = [];
  const seen = (
    method: string,
    call:
      | grpc.ServerUnaryCall<unknown, unknown>
      | grpc.ServerReadableStream<unknown, unknown>
      | grpc.ServerWritableStream<unknown, unknown>
      | grpc.ServerDuplexStream<unknown, unknown>,
  ): SeenCall => {
    const record: SeenCall = { method, metadata: call.metadata, deadline: call.getDeadline(), cancelled: false };
    (call as unknown as import('node:events').EventEmitter).on('cancelled', () => (record.cancelled = true));
    calls.push(record);
    return record;
  };
  const trailer = () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-server-trailer', 'goodbye');
    return metadata;
  };
  const server = new grpc.Server();
  server.addService(Echo.service, {
    Unary(call: grpc.ServerUnaryCall<Note, Note>, callback: grpc.sendUnaryData<Note>) {
      seen('Unary', call);
      const initial = new grpc.Metadata();
      initial.set('x-server-initial', 'hello');
      call.sendMetadata(initial);
      const meta = call.metadata.get('x-client-meta')[0];
      callback(null, { text: `${call.request.text}|${meta ?? ''}` }, trailer());
    },
    Upload(call: grpc.ServerReadableStream<Note, Note>, callback: grpc.sendUnaryData<Note>) {
      seen('Upload', call);
      let bytes = 0;
      let notes = 0;
      call.on('data', (note: Note) => {
        bytes += note.data?.length ?? 0;
        notes++;
      });
      call.on('end', () => callback(null, { text: `notes=${notes}`, count: bytes }, trailer()));
    },
    Download(call: grpc.ServerWritableStream<Note, Note>) {
      seen('Download', call);
      const count = Number(call.request.count);
      for (let i = 0; i < count; i++) call.write({ text: `part ${i}` });
      call.end(trailer());
    },
    Chat(call: grpc.ServerDuplexStream<Note, Note>) {
      seen('Chat', call);
      call.on('data', (note: Note) => call.write({ text: `echo ${note.text}` }));
      call.on('end', () => call.end(trailer()));
    },
    Hang(call: grpc.ServerUnaryCall<Note, Note>) {
      seen('Hang', call);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${atPort}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return { server, port, calls, close: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

/** An Echo client over h2c to `address` (host:port). */
export function echoClient(address: string): grpc.Client & Record<string, (...args: never[]) => unknown> {
  return new Echo(address, grpc.credentials.createInsecure()) as never;
}

export { grpc };
