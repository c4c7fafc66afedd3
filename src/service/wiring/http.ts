import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestHandler } from 'express';
import { apiKeysRouter } from '../../api/api-keys.js';
import { connectionsRouter } from '../../api/connections.js';
import { connectSessionsRouter, oauthCallbackRouter } from '../../api/connect-sessions.js';
import { historyRouter } from '../../api/history.js';
import { PutMappingSchema, mappingsRouter, saveMapping, type MappingsDeps } from '../../api/mappings.js';
import { fromZodError } from '../../http/errors.js';
import { listFieldChoices, listObjects } from '../../salesforce/catalog.js';
import { subscriptionsRouter } from '../../api/subscriptions.js';
import { connectPageRouter } from '../../connect-page/router.js';
import { EventTail } from '../../history/events.js';
import { meRouter } from '../../api/me.js';
import { clusterRouter } from '../../api/cluster.js';
import { ConsoleLogins } from '../../console/logins.js';
import { consoleRouter } from '../../console/serve.js';
import type { Config } from '../../config/schema.js';
import { ForcehookError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { WorkflowRegistry } from '../../deliver/workflows/index.js';
import { buildOpenApiDocument } from '../../api/openapi.js';
import { createHttpApp } from '../../http/app.js';
import type { Metrics } from '../../observability/metrics.js';
import { createFieldLister, createObjectResolver } from '../../salesforce/objects.js';
import type { Delivery } from './delivery.js';
import type { KafkaAndState } from './kafka-state.js';
import type { Sources } from './sources.js';

export interface HttpDeps {
  config: Readonly<Config>;
  logger: Logger;
  metrics: Metrics;
  k: KafkaAndState;
  s: Sources;
  d: Delivery;
  workflows: WorkflowRegistry;
  ready(): Promise<boolean>;
  loaded(): boolean;
}

/** The HTTP app (the /v1 API, the OAuth callback, the console, health and metrics), listening; resolves with the server and its URL. */
export async function listenHttp({
  config,
  logger,
  metrics,
  k,
  s,
  d,
  workflows,
  ready,
  loaded,
}: HttpDeps): Promise<{ server: Server; url: string; logins: ConsoleLogins }> {
  const { box, store, connections, egress } = k;
  const { sources, orgSessions } = s;
  const { delivery } = d;
  // The API answers only from loaded state: an empty view would look like lost data.
  const whenLoaded: RequestHandler = (_req, _res, next) => {
    next(loaded() ? undefined : new ForcehookError('KAFKA_UNAVAILABLE', 'state is still loading from Kafka; retry shortly', { status: 503, retriable: true }));
  };

  const resolveObject = createObjectResolver({ session: (id) => orgSessions.session(id) });
  const mappingDeps: MappingsDeps = { store, resolveObject, listFields: createFieldLister({ session: (id) => orgSessions.session(id) }) };
  const pageMappings = {
    objects: (connectionId: string) => listObjects(orgSessions.session(connectionId)),
    fields: (connectionId: string, object: string) => listFieldChoices(orgSessions.session(connectionId), object),
    save: (connectionId: string, name: string, body: unknown) => {
      const parsed = PutMappingSchema.safeParse(body);
      if (!parsed.success) throw fromZodError(parsed.error, 'body');
      return saveMapping(mappingDeps, connectionId, name, parsed.data);
    },
  };
  let url = '';
  const sessionDeps = {
    box,
    store,
    connections,
    loaded,
    publicUrl: () => config.publicUrl ?? url,
    allowPrivateNetworks: config.allowPrivateNetworks,
    egress,
    logger,
    defaultApp: config.connect.oauthApp,
    loginUrls: config.connect.loginUrls,
    packageInstallUrl: config.connect.packageInstallUrl,
  };
  // One live tail per instance, shared by every event stream it serves; history reads use one-off groups.
  const tail = new EventTail({ kafka: k.kafka, topics: k.topics, groupPrefix: `${config.kafka.topicPrefix}.tail`, logger });
  const logins = new ConsoleLogins();
  const app = createHttpApp({
    openapi: buildOpenApiDocument,
    apiToken: config.apiToken,
    apiKeys: { loaded, get: (id) => store.apiKey(id) },
    ...(config.metricsToken ? { metricsToken: config.metricsToken } : {}),
    bodyLimit: config.http.bodyLimit,
    logger,
    metrics,
    ready,
    v1: [
      whenLoaded,
      connectionsRouter({ store, connections, runtime: sources, defaultCdcTransport: config.cdcTransport }),
      connectSessionsRouter(sessionDeps),
      mappingsRouter(mappingDeps),
      subscriptionsRouter({
        store,
        box,
        allowPrivateNetworks: config.allowPrivateNetworks,
        workflows,
        redeliver: delivery,
        resolveObject,
      }),
      historyRouter({ kafka: k.kafka, topics: k.topics, store, tail, groupPrefix: `${config.kafka.topicPrefix}.history`, logger }),
      apiKeysRouter({ store }),
      meRouter(),
      clusterRouter({
        kafka: k.kafka,
        topics: k.topics,
        store,
        prefix: config.kafka.topicPrefix,
        retryDelaysMs: config.retrySchedule,
        ownership: () => s.ownership()?.status(),
      }),
    ],
    public: [
      oauthCallbackRouter(sessionDeps),
      connectPageRouter({ ...sessionDeps, brand: config.connect.brand, mappings: pageMappings }),
      consoleRouter({ logins }),
    ],
  });
  const server: Server = app.listen(config.http.port, config.http.host);
  server.on('close', () => void tail.stop());
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
  return { server, url, logins };
}
