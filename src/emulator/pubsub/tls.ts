/**
 * The Pub/Sub API is served over TLS only, as Salesforce serves it: the emulator makes
 * a throw-away CA and a server certificate signed by it at start (in memory, with
 * node-forge, so no JDK or openssl is needed). Clients trust the CA through the PEM
 * file the ready line names.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';

export interface PubsubTls {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Where `caPem` was written. */
  caFile: string;
}

const DAY_MS = 24 * 3600 * 1000;

function certificate(publicKey: forge.pki.PublicKey, subject: string, issuer: string): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // Positive serial: the leading byte's high bit clear.
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - DAY_MS);
  cert.validity.notAfter = new Date(Date.now() + 30 * DAY_MS);
  cert.setSubject([{ name: 'commonName', value: subject }]);
  cert.setIssuer([{ name: 'commonName', value: issuer }]);
  return cert;
}

function generateKeys(): Promise<forge.pki.rsa.KeyPair> {
  // Generated off the event loop (forge's prime search runs in steps).
  return new Promise((resolve, reject) => forge.pki.rsa.generateKeyPair({ bits: 2048, workers: -1 }, (err, keys) => (err ? reject(err) : resolve(keys))));
}

export async function makePubsubTls(hosts: string[] = ['127.0.0.1', 'localhost']): Promise<PubsubTls> {
  const caName = 'forcehook emulator Pub/Sub CA';
  const [caKeys, keys] = await Promise.all([generateKeys(), generateKeys()]);
  const ca = certificate(caKeys.publicKey, caName, caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());
  const cert = certificate(keys.publicKey, hosts[0] ?? '127.0.0.1', caName);
  const isIp = (h: string): boolean => /^[\d.]+$/.test(h) || h.includes(':');
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: hosts.map((h) => (isIp(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKeys.privateKey, forge.md.sha256.create());
  const caPem = forge.pki.certificateToPem(ca);
  const caFile = join(mkdtempSync(join(tmpdir(), 'forcehook-pubsub-')), 'ca.pem');
  writeFileSync(caFile, caPem);
  return { caPem, certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey), caFile };
}
