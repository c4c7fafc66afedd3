import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';

/** The security of the broker's client listener (Kafka's own names, as clients and operators know them). */
export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

export interface ListenerSecurity {
  tls?: { keystore: string; truststore: string; password: string };
  scram?: { username: string; password: string };
}

export function securityProtocol(s: ListenerSecurity): SecurityProtocol {
  if (s.tls) return s.scram ? 'SASL_SSL' : 'SSL';
  return s.scram ? 'SASL_PLAINTEXT' : 'PLAINTEXT';
}

/** A value inside a JAAS configuration string: quoted, with quotes and backslashes escaped. */
const jaasQuote = (v: string): string => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;

/**
 * Single-node KRaft with a static quorum (works the same on 3.9 and 4.x). The replication
 * settings are what make consumer groups work on one node; the thread and buffer sizes
 * keep the JVM small on a 2-core machine.
 *
 * A secured broker has one client listener and no plaintext door beside it: it talks to
 * itself over that listener, as the configured SCRAM user, trusting its own CA.
 */
export function serverProperties(o: { port: number; controllerPort: number; dataDir: string; security?: ListenerSecurity }): string {
  const security = o.security ?? {};
  const protocol = securityProtocol(security);
  const name = protocol === 'PLAINTEXT' ? 'PLAINTEXT' : 'CLIENT';
  const secured: string[] = [];
  if (security.tls) {
    secured.push(
      'ssl.keystore.type=PKCS12',
      `ssl.keystore.location=${security.tls.keystore}`,
      `ssl.keystore.password=${security.tls.password}`,
      `ssl.key.password=${security.tls.password}`,
      'ssl.truststore.type=PKCS12',
      `ssl.truststore.location=${security.tls.truststore}`,
      `ssl.truststore.password=${security.tls.password}`,
      'ssl.client.auth=none',
    );
  }
  if (security.scram) {
    const { username, password } = security.scram;
    secured.push(
      'sasl.enabled.mechanisms=SCRAM-SHA-512',
      'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512',
      `listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=${jaasQuote(username)} password=${jaasQuote(password)};`,
    );
  }
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${o.controllerPort}`,
    `listeners=${name}://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}`,
    `advertised.listeners=${name}://127.0.0.1:${o.port}`,
    `inter.broker.listener.name=${name}`,
    'controller.listener.names=CONTROLLER',
    `listener.security.protocol.map=CONTROLLER:PLAINTEXT,${name}:${protocol}`,
    ...secured,
    `log.dirs=${o.dataDir}`,
    'num.partitions=1',
    'auto.create.topics.enable=true',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'group.initial.rebalance.delay.ms=0',
    'num.network.threads=2',
    'num.io.threads=2',
    'background.threads=2',
    'num.recovery.threads.per.data.dir=1',
    // the default 128 MiB is allocated on the heap at start-up
    'log.cleaner.dedupe.buffer.size=2097152',
    '',
  ].join('\n');
}

/** Same shape as Kafka's Uuid.randomUuid(): 16 random bytes, base64url, never starting with '-'. */
export function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
