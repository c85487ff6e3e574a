// The gRPC benchmark upstream: the Echo service of test/fixtures/echo.proto on grpc-js over h2c,
// answering Unary at once. Prints its port.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const proto = new URL('../test/fixtures/echo.proto', import.meta.url).pathname;
const { Echo } = grpc.loadPackageDefinition(protoLoader.loadSync(proto, { longs: Number, defaults: true })).tollgate.test;
const server = new grpc.Server();
server.addService(Echo.service, {
  Unary: (call, callback) => callback(null, { text: call.request.text }),
});
server.bindAsync(`127.0.0.1:${process.argv[2] ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  console.log(port);
});
