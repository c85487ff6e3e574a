import t from 'tap';
import { faultsOf, fromYaml } from '../helpers/config.js';

t.test('grpcUpstream takes h2c://host:port or nothing', async (t) => {
  t.equal(fromYaml(t, 'proxy: { grpcUpstream: "h2c://10.0.0.2:50051" }').proxy.grpcUpstream, 'h2c://10.0.0.2:50051');
  t.equal(fromYaml(t, 'proxy: { grpcUpstream: "" }').proxy.grpcUpstream, '');
  for (const bad of ['http://10.0.0.2:50051', 'h2c://10.0.0.2', 'h2c://x:1/path', 'grpc']) {
    t.same(
      faultsOf(() => fromYaml(t, `proxy: { grpcUpstream: "${bad}" }`)),
      [`proxy.grpcUpstream: expected h2c://host:port (no path), or "" for none, got "${bad}"`],
      bad,
    );
  }
});

t.test('tls takes both files or neither, and the environment sets them', async (t) => {
  t.same(fromYaml(t, '{}').proxy.tls, { cert: '', key: '' });
  t.same(fromYaml(t, '{}', { TOLLGATE_PROXY_TLS_CERT: '/c.pem', TOLLGATE_PROXY_TLS_KEY: '/k.pem' }).proxy.tls, { cert: '/c.pem', key: '/k.pem' });
  t.same(
    faultsOf(() => fromYaml(t, 'proxy: { tls: { key: /k.pem } }')),
    ['proxy.tls.cert: expected a PEM file when proxy.tls.key is set'],
  );
  t.same(faultsOf(() => fromYaml(t, 'proxy: { tls: { cert: 5 } }')).sort(), ['proxy.tls.cert: expected a file path, or "" for none, got 5']);
  t.same(
    faultsOf(() => fromYaml(t, 'proxy: { tls: { crt: /c.pem } }')),
    ['proxy.tls.crt: unknown key'],
  );
});
