/**
 * The layering of src/, checked in `npm test`. The pipeline runs one way:
 * Salesforce access → source (follow orgs) → normalize → detect → publish (Kafka) → deliver,
 * with the API beside it. The emulator is its own world: only tests, tooling, the demo and
 * the CLI that starts it may import it.
 */
module.exports = {
  forbidden: [
    {
      name: 'source-not-api',
      comment: 'Following orgs does not depend on the HTTP API; the API depends on it.',
      severity: 'error',
      from: { path: '^src/source/' },
      to: { path: '^src/(api|http)/' },
    },
    {
      name: 'deliver-not-source',
      comment: 'Delivery reads events from Kafka; it does not reach into the org followers (Salesforce access is shared from src/salesforce).',
      severity: 'error',
      from: { path: '^src/deliver/' },
      to: { path: '^src/source/' },
    },
    {
      name: 'nothing-imports-the-emulator',
      comment: 'The emulator is for tests, benchmarks and the demo; the service never loads it.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/emulator/', '\\.test\\.ts$', '^src/demo/', '^src/cli/'] },
      to: { path: '^src/emulator/' },
    },
    {
      name: 'normalize-and-detect-are-pure',
      comment: 'Normalizing and detecting are functions of their input: no I/O, no Kafka, no Salesforce client.',
      severity: 'error',
      from: { path: '^src/(normalize|detect)/', pathNot: '\\.test\\.ts$' },
      to: {
        path: [
          '^src/(kafka|source|salesforce|deliver|api|http|service|state|publish|net|emulator|demo|cli)/',
          '^(node:)?(fs|net|http|https|child_process|dgram|tls)$',
        ],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
