/**
 * What every chaos scenario shares: an emulator, service instances (in-process or as child processes,
 * `instances.ts`), the org under test and its activity (`orgs.ts`), a webhook receiver and a reader of
 * `<prefix>.events` (from testkit/), the accounting of every change the emulator committed against what
 * reached Kafka and the receiver (`ledger.ts`) and the verdict on it (`verdict.ts`).
 * No vitest import here: the runner runs under plain tsx, the npm-test subset under vitest.
 */
import { randomBytes } from 'node:crypto';
import type { RunningEmulator } from '../src/emulator/server.js';
import type { ScenarioResult } from './verdict.js';

export interface Ctx {
  brokers: string[];
  emulator: RunningEmulator;
  quick: boolean;
  log(msg: string): void;
  /** The service settings of the CDC transport under test (`FORCEHOOK_CDC_TRANSPORT`, …); none: the default. */
  transportEnv?: Record<string, string>;
}

export interface Scenario {
  name: string;
  /** Part of the quick subset (CHAOS_QUICK=1 and npm test). */
  quick: boolean;
  /** Bound on one run (default: the runner's). */
  timeoutMs?: number;
  run(ctx: Ctx): Promise<ScenarioResult>;
}

export function prefixFor(name: string): string {
  return `chaos-${name.replace(/[^a-zA-Z0-9._-]+/g, '-')}-${randomBytes(4).toString('hex')}`;
}

export { sleep, waitFor, waitUntil } from '../testkit/wait.js';
export { httpApi, type Api } from '../testkit/api.js';
export { startReceiver, type Delivery, type Receiver } from '../testkit/receiver.js';
export { readEvents, type EventsReader, type ReceivedEvent } from '../testkit/events.js';
export { childInstance, inProcessInstance, SECRET_KEY, type Instance, type InstanceOpts } from './instances.js';
export { activity, adminCall, connectOrg, createOrg, fault, freshRefreshToken, steadyOrg, streamingLive, TRIGGERS, type OrgCredentials } from './orgs.js';
export { verdict, type Counts, type Expectations, type ScenarioResult } from './verdict.js';
export { Ledger, type LatestStateWindow, type LedgerCounts, type Published } from './ledger.js';
