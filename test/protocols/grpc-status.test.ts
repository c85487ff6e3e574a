import t from 'tap';
import { grpcMessage, grpcStatusFor, isGrpcContentType } from '../../src/proxy/grpc-status.js';

t.test('each refusal status maps to its gRPC status', async (t) => {
  const table: Array<[number, number]> = [
    [400, 3],
    [401, 16],
    [403, 7],
    [404, 12],
    [405, 12],
    [429, 8],
    [502, 14],
    [503, 14],
    [504, 4],
    [414, 3],
    [431, 3],
    [417, 3],
    [500, 2],
  ];
  for (const [http, grpc] of table) t.equal(grpcStatusFor(http), grpc, `${http} -> ${grpc}`);
});

t.test('gRPC content types are told from gRPC-Web and others', async (t) => {
  for (const yes of ['application/grpc', 'application/grpc+proto', 'Application/GRPC+json', 'application/grpc;charset=utf-8'])
    t.ok(isGrpcContentType(yes), yes);
  for (const no of [undefined, 'application/grpc-web', 'application/grpc-web+proto', 'application/grpcx', 'application/json', 'application/grp'])
    t.notOk(isGrpcContentType(no), String(no));
});

t.test('grpc-message is percent-encoded outside printable ASCII and for %', async (t) => {
  t.equal(grpcMessage('token revoked'), 'token revoked');
  t.equal(grpcMessage('100% ünïcode\n'), '100%25 %C3%BCn%C3%AFcode%0A');
});
