import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ForcehookError } from '../../core/errors.js';
import { run } from './exec.js';
import { javaBinary } from './paths.js';

/** What a local broker serving TLS needs: a CA its clients trust, and its own key and certificate signed by it. */
export interface LocalCertificates {
  /** PEM of the CA: what a client passes as `KAFKA_SSL_CA_FILE`. */
  caFile: string;
  /** PKCS12 with the broker's key and its certificate chain. */
  keystore: string;
  /** PKCS12 with the CA: the broker checks its own certificate with it when it talks to itself. */
  truststore: string;
  password: string;
}

/** The certificates `makeLocalCertificates` left in `dir` (their password is kept beside them). */
export function certificatesIn(dir: string): LocalCertificates {
  return {
    caFile: join(dir, 'ca.pem'),
    keystore: join(dir, 'broker.p12'),
    truststore: join(dir, 'truststore.p12'),
    password: readFileSync(join(dir, 'stores.pass'), 'utf8').trim(),
  };
}

/** keytool ships with every JDK that can run the broker, so TLS needs nothing else installed. */
function keytool(): string {
  return javaBinary().replace(/java$/, 'keytool');
}

/**
 * A throw-away CA and a certificate for 127.0.0.1 and localhost signed by it,
 * valid for 30 days, made with the JDK's keytool in `dir`.
 */
export async function makeLocalCertificates(dir: string): Promise<LocalCertificates> {
  const password = randomBytes(18).toString('base64url');
  const ca = join(dir, 'ca.p12');
  const keystore = join(dir, 'broker.p12');
  const truststore = join(dir, 'truststore.p12');
  const caFile = join(dir, 'ca.pem');
  const csr = join(dir, 'broker.csr');
  const cert = join(dir, 'broker.pem');
  const san = 'SAN=ip:127.0.0.1,dns:localhost';
  const store = (path: string) => ['-keystore', path, '-storetype', 'PKCS12', '-storepass', password];
  const steps: string[][] = [
    [
      '-genkeypair',
      '-alias',
      'ca',
      '-keyalg',
      'EC',
      '-groupname',
      'secp256r1',
      '-dname',
      'CN=forcehook local Kafka CA',
      '-ext',
      'bc:c',
      '-validity',
      '30',
      ...store(ca),
    ],
    ['-exportcert', '-alias', 'ca', '-rfc', '-file', caFile, ...store(ca)],
    [
      '-genkeypair',
      '-alias',
      'broker',
      '-keyalg',
      'EC',
      '-groupname',
      'secp256r1',
      '-dname',
      'CN=127.0.0.1',
      '-ext',
      san,
      '-validity',
      '30',
      ...store(keystore),
    ],
    ['-certreq', '-alias', 'broker', '-file', csr, ...store(keystore)],
    ['-gencert', '-alias', 'ca', '-infile', csr, '-outfile', cert, '-rfc', '-ext', san, '-validity', '30', ...store(ca)],
    ['-importcert', '-alias', 'ca', '-file', caFile, '-noprompt', ...store(keystore)],
    ['-importcert', '-alias', 'broker', '-file', cert, ...store(keystore)],
    ['-importcert', '-alias', 'ca', '-file', caFile, '-noprompt', ...store(truststore)],
  ];
  for (const args of steps) {
    const r = await run(keytool(), args, { timeoutMs: 60_000 });
    if (r.error || r.code !== 0) {
      const why = r.error
        ? `cannot run keytool (${r.error.message}); install a JDK or set JAVA_HOME`
        : `keytool ${args[0]} exited ${r.code}: ${(r.stdout + r.stderr).trim()}`;
      throw new ForcehookError('BROKER_START', `making the local broker's TLS certificate failed: ${why}`);
    }
  }
  writeFileSync(join(dir, 'stores.pass'), password, { mode: 0o600 });
  return { caFile, keystore, truststore, password };
}
