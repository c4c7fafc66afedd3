import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestHandler } from 'express';
import type { Config } from '../config/schema.js';
import { ForcehookError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { SecretBox } from '../core/secrets.js';
import { StateMachine } from '../core/state-machine.js';
import { retry, retryPolicy, type RetryPolicy } from '../core/retry.js';
import { withTimeout } from '../core/timeout.js';
import { apiKeysRouter } from '../api/api-keys.js';
import { connectionsRouter } from '../api/connections.js';
import { connectSessionsRouter, oauthCallbackRouter } from '../api/connect-sessions.js';
import { buildOpenApiDocument } from '../api/openapi.js';
import { subscriptionsRouter } from '../api/subscriptions.js';
import { createWorkflowExecutor, loadWorkflows, type WorkflowRegistry } from '../deliver/workflows/index.js';
import type { Executor } from '../deliver/types.js';
import { createDeliveryEngine, type DeliveryEngine } from '../deliver/engine.js';
import { createWebhookExecutor } from '../deliver/webhook/executor.js';
import { createHttpApp } from '../http/app.js';
import { createKafka } from '../kafka/index.js';
import { topics, topicSpecs, type Topics } from '../kafka/topics.js';
import type { KafkaClient } from '../kafka/types.js';
import { createSalesforceEgress } from '../net/salesforce-egress.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { registerStateGauges } from '../observability/state-gauges.js';
import { registerOrgGauges } from '../observability/org-gauges.js';
import { createPublisher } from '../publish/publisher.js';
import { ConnectionService } from '../salesforce/connections.js';
import { SourceManager } from '../source/manager.js';
import { createObjectResolver } from '../salesforce/objects.js';
import { OrgSessions } from '../salesforce/sessions.js';
import { OrgOwnership, type OwnershipStatus } from '../source/ownership.js';
import { TokenKeeper } from '../salesforce/tokens.js';
import { ServiceStore } from '../state/store.js';
import { SERVICE_TRANSITIONS, type ServiceState } from './lifecycle.js';

export interface RunningService {
  url: string;
  state(): ServiceState;
  metrics: Metrics;
  topics: Topics;
  kafka: KafkaClient;
  store: ServiceStore;
  sources: SourceManager;
  /** Which assignment partitions (hence orgs) this instance follows; undefined until it joined. */
  ownership(): OwnershipStatus | undefined;
  /** The workflows from config `workflows`, loaded at start. */
  workflows: WorkflowRegistry;
  /** Runs workflow destinations; the delivery engine's executor for `{"type":"workflow"}`. */
  workflowExecutor: Executor<'workflow'>;
  /** Matcher + dispatcher: events → webhooks / workflows (src/deliver). */
  delivery: DeliveryEngine;
  /** Resolves once topics exist and state was read from Kafka. */
  loaded: Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceDeps {
  config: Readonly<Config>;
  logger: Logger;
  /** Distinguishes instances in logs and consumer groups. */
  instanceId?: string;
  /** Tests shorten how often the CDC selection is re-read. */
  modeRefreshMs?: number;
  /** Tests shorten how long an org whose streaming allocation is spent is polled before streaming is tried again. */
  streamingLimitRetry?: RetryPolicy;
}

/** How long a /readyz probe may wait on Kafka before answering 503. */
const PING_TIMEOUT_MS = 3_000;

/**
 * Starts one service instance. HTTP comes up first (so liveness answers while
 * Kafka is away); topics and state load in the background, with retries, and
 * the instance turns ready only once they did.
 */
export async function startService({ config, logger, instanceId, modeRefreshMs, streamingLimitRetry }: ServiceDeps): Promise<RunningService> {
  // First, before anything opens: a workflow module that does not load is a config error, not failing deliveries later.
  const workflows = await loadWorkflows(config.workflows);
  const metrics = createMetrics();
  const lifecycle = new StateMachine<ServiceState>('service', SERVICE_TRANSITIONS, 'starting');
  lifecycle.onChange((to, from) => logger.info({ from, to }, 'service state'));
  const t = topics(config.kafka.topicPrefix);
  const { brokers, clientId, ssl, sslCaFile, sasl } = config.kafka;
  const kafka = createKafka({ brokers: [...brokers], clientId, logger, ssl, ...(sslCaFile ? { sslCaFile } : {}), ...(sasl ? { sasl: { ...sasl } } : {}) });
  const admin = kafka.admin();
  // The current key seals; previous ones (FORCEHOOK_SECRET_KEY_PREVIOUS) only open.
  const box = SecretBox.fromBase64(config.secretKey, ...config.secretKeyPrevious);
  const egress = createSalesforceEgress({ hosts: config.salesforceHosts, allowPrivate: config.allowPrivateNetworks });
  const store = new ServiceStore({ client: kafka, stateTopic: t.state, checkpointTopic: t.checkpoints, logger, ...(instanceId ? { instanceId } : {}) });
  const connections = new ConnectionService({ store, box, egress, logger });
  // The producer connects on first send, so creating it here costs nothing while Kafka is away.
  const publisher = createPublisher({ topic: t.events }, { producer: kafka.producer(), metrics, logger });
  // --- scale-out: the orgs of the assignment partitions this instance holds (src/source/ownership.ts) ---
  let ownership: OrgOwnership | undefined;
  const startOwnership = async (): Promise<void> => {
    // The hash is over the topic's real partition count, whatever created it.
    const partitions = (await admin.topicOffsets(t.assignments)).length;
    const o = new OrgOwnership({
      client: kafka,
      topic: t.assignments,
      groupId: `${config.kafka.topicPrefix}.owners`,
      sessionTimeoutMs: config.kafka.ownersSessionTimeoutMs,
      logger,
      partitions,
      onChange: async ({ gained, lost }) => {
        if (lost.length > 0) await sources.release((id) => !o.owns(id));
        const g = new Set(gained);
        sources.reconcile(store.connections().flatMap((c) => (g.has(o.partitionOf(c.id)) ? [c.id] : [])));
      },
    });
    ownership = o;
    await o.start();
  };
  // --- end scale-out ---
  // The org's owner alone refreshes its tokens; other instances use the ones on record (src/salesforce/tokens.ts).
  const tokens = new TokenKeeper({
    store,
    box,
    logger,
    egress,
    owns: (connectionId) => ownership?.owns(connectionId) ?? false,
    intervalMs: config.tokenRefreshIntervalS * 1000,
    onReauthRequired: (connectionId, reason) => {
      void connections.markNeedsReauth(connectionId, reason).catch((err: unknown) => logger.error({ err, connectionId }, 'could not record needs_reauth'));
    },
  });
  const sources = new SourceManager({
    store,
    owns: (connectionId) => ownership?.owns(connectionId) ?? false,
    connections,
    tokens,
    publisher,
    logger,
    metrics,
    pollIntervalMs: config.pollIntervalS * 1000,
    budgetShare: config.pollBudgetShare,
    egress,
    ...(modeRefreshMs ? { modeRefreshMs } : {}),
    ...(streamingLimitRetry ? { streamingLimitRetry } : {}),
  });
  // Org sessions for work on orgs this instance may not follow (workflow steps, checking a new subscription).
  const orgSessions = new OrgSessions({ store, connections, tokens, sources, logger, egress });
  const workflowExecutor = createWorkflowExecutor({
    registry: workflows,
    salesforce: orgSessions,
    logger: logger.child({ component: 'workflows' }),
  });
  // --- delivery (src/deliver): one executor per destination type ---
  const delivery = createDeliveryEngine(
    { prefix: config.kafka.topicPrefix, dispatcher: { retrySchedule: [...config.retrySchedule] } },
    {
      kafka,
      topics: t,
      store,
      logger,
      metrics,
      executors: { webhook: createWebhookExecutor({ allowPrivateNetworks: config.allowPrivateNetworks }, { box }), workflow: workflowExecutor },
    },
  );
  // --- end delivery ---
  registerStateGauges(metrics, {
    connectionStatuses: () => store.connections().map((c) => c.status),
    subscriberStates: () => sources.states(),
  });
  // --- per-org gauges: lag, API budget, modes (src/observability/org-gauges.ts) ---
  registerOrgGauges(metrics, function* () {
    for (const c of store.connections()) {
      const s = sources.supervisor(c.id);
      if (s) yield { connectionId: c.id, orgId: c.orgId, lag: s.lag(), apiUsage: s.session.apiUsage(), modes: s.objectModes().map((o) => o.mode), streamingLimited: s.streamingLimited() };
    }
  });
  // --- end per-org gauges ---
  const stopping = new AbortController();
  let loaded = false;

  const ping = async (): Promise<boolean> => {
    try {
      await withTimeout(admin.ping(), PING_TIMEOUT_MS, 'kafka ping');
      return true;
    } catch (err) {
      logger.debug({ err }, 'kafka ping failed');
      return false;
    }
  };

  const ready = async (): Promise<boolean> => {
    const ok = loaded && (await ping());
    metrics.kafkaReady.set(ok ? 1 : 0);
    if (lifecycle.state === 'running' && !ok) lifecycle.to('degraded');
    else if (lifecycle.state === 'degraded' && ok) lifecycle.to('running');
    return ok;
  };

  const boot = retry(
    retryPolicy({ maxAttempts: Number.MAX_SAFE_INTEGER, initialDelayMs: 500, maxDelayMs: 10_000 }),
    async () => {
      await admin.ensureTopics(topicSpecs(t, config.retrySchedule));
      await store.start();
    },
    {
      signal: stopping.signal,
      onRetry: (err, attempt, delayMs) => {
        if (lifecycle.state === 'starting') lifecycle.to('degraded');
        logger.warn({ err: err.message, attempt, delayMs }, 'waiting for Kafka');
      },
    },
  ).then(() => {
    loaded = true;
    if (config.roles.includes('source')) {
      tokens.start();
      sources.start();
      void startOwnership().catch((err: unknown) => logger.error({ err }, 'could not join the owners group: following no org'));
    }
    if (config.roles.includes('delivery')) {
      void delivery.start().catch((err: unknown) => logger.error({ err }, 'delivery engine failed to start'));
    }
    if (lifecycle.state === 'starting' || lifecycle.state === 'degraded') lifecycle.to('running');
  });
  boot.catch((err: unknown) => {
    if (stopping.signal.aborted) return;
    if (err instanceof ForcehookError && err.code === 'KAFKA_AUTH') {
      // One line the operator can act on; nothing retries it (waiting does not fix credentials or trust).
      logger.error({ reason: err.message }, 'Kafka refused this client: check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_SSL and KAFKA_SSL_CA_FILE');
    } else logger.error({ err }, 'service boot failed');
  });

  // The API answers only from loaded state: an empty view would look like lost data.
  const whenLoaded: RequestHandler = (_req, _res, next) => {
    next(loaded ? undefined : new ForcehookError('KAFKA_UNAVAILABLE', 'state is still loading from Kafka; retry shortly', { status: 503, retriable: true }));
  };

  let url = '';
  const sessionDeps = { box, store, connections, loaded: () => loaded, publicUrl: () => config.publicUrl ?? url, allowPrivateNetworks: config.allowPrivateNetworks, egress, logger };
  const app = createHttpApp({
    apiToken: config.apiToken,
    apiKeys: { loaded: () => loaded, get: (id) => store.apiKey(id) },
    ...(config.metricsToken ? { metricsToken: config.metricsToken } : {}),
    bodyLimit: config.http.bodyLimit,
    logger,
    metrics,
    ready,
    openapi: buildOpenApiDocument,
    v1: [
      whenLoaded,
      connectionsRouter({ store, connections, runtime: sources }),
      connectSessionsRouter(sessionDeps),
      subscriptionsRouter({
        store,
        box,
        allowPrivateNetworks: config.allowPrivateNetworks,
        workflows,
        redeliver: delivery,
        resolveObject: createObjectResolver({ session: (id) => orgSessions.session(id) }),
      }),
      apiKeysRouter({ store }),
    ],
    public: [oauthCallbackRouter(sessionDeps)],
  });
  const server: Server = app.listen(config.http.port, config.http.host);
  // Idle keep-alive connections outlive a load balancer's (AWS ALB: 60 s): with
  // Node's 5 s a client or proxy reusing a connection the server just closed gets
  // a reset (an ALB answers 502). Header timeout above it, as Node requires.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  url = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}`;

  return {
    url,
    metrics,
    topics: t,
    kafka,
    store,
    sources,
    ownership: () => ownership?.status(),
    workflows,
    workflowExecutor,
    delivery,
    loaded: boot,
    state: () => lifecycle.state,
    async stop() {
      if (lifecycle.state === 'stopping' || lifecycle.state === 'stopped') return;
      lifecycle.to('stopping');
      stopping.abort();
      await boot.catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Side by side: each ends by leaving its Kafka group, which waits out the fetch in flight.
      tokens.stop();
      await Promise.all([
        (async () => {
          await sources.stop();
          // Only after every org stopped and checkpointed: leaving hands them to the others.
          await ownership?.stop();
        })(),
        delivery.stop().catch((err: unknown) => logger.warn({ err }, 'delivery stop failed')),
      ]);
      await publisher.flush().catch(() => undefined);
      await store.stop().catch(() => undefined);
      await kafka.close().catch((err: unknown) => logger.warn({ err }, 'kafka close failed'));
      await egress.dispatcher.close();
      lifecycle.to('stopped');
    },
  };
}
