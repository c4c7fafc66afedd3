import type { Connection } from 'jsforce';
import { LRUCache } from 'lru-cache';
import type { SalesforceEgress } from '../net/salesforce-egress.js';
import { TerminalError, TransientError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { OAuthClient } from './oauth.js';
import { OrgSession } from './session.js';
import { grantOf, type ConnectionRecord } from '../state/records.js';
import type { TokenSource } from './tokens.js';

export interface OrgSessionsDeps {
  store: { connection(id: string): ConnectionRecord | undefined };
  connections: {
    credentials(c: ConnectionRecord): { oauth: OAuthClient; refreshToken: string };
    markNeedsReauth(id: string, reason: string): Promise<void>;
  };
  /**
   * The service's token keeper: a session then uses the tokens on record and, when they
   * stop working, the org owner's new ones (it never refreshes a grant itself, which an
   * org that rotates refresh tokens would punish). Without it a session refreshes its
   * own copy of the grant.
   */
  tokens?: { source(connectionId: string): TokenSource };
  /** The source manager: an org this instance follows already has a session. */
  sources?: { supervisor(connectionId: string): { session: OrgSession } | undefined };
  logger: Logger;
  egress: SalesforceEgress;
  /** Sessions kept for orgs this instance does not follow. @default 200 */
  maxSessions?: number;
}

interface Cached {
  session: OrgSession;
  /** The grant it was built from: a re-authorization means a new session. */
  grant: string;
}

/**
 * The org sessions of this instance, for everything that calls an org outside
 * the change subscriber: workflows (`ctx.salesforce`) and the API's object checks.
 * A caller may act for an org this instance does not follow (scale-out splits
 * orgs and delivery partitions independently), so there may be no supervisor
 * session to borrow. Then a session is built on the connection's tokens and kept
 * in an LRU. With the token keeper, the access token on record is used and only
 * the org's owner refreshes (tokens.ts). A supervisor's session is always
 * preferred so the common case shares one token with the change subscriber.
 */
export class OrgSessions {
  readonly #cache: LRUCache<string, Cached>;

  constructor(private readonly deps: OrgSessionsDeps) {
    this.#cache = new LRUCache<string, Cached>({
      max: deps.maxSessions ?? 200,
      // A closed session only refuses: a run still holding its Connection fails and is retried.
      dispose: (v) => v.session.close(),
    });
  }

  /** A jsforce Connection for the connection's org, or a delivery error saying why not. */
  connection(connectionId: string): Connection {
    return this.session(connectionId).jsforce();
  }

  session(connectionId: string): OrgSession {
    const c = this.deps.store.connection(connectionId);
    if (!c) {
      this.#cache.delete(connectionId);
      // The connection was deleted: no retry brings it back; the dead-letter topic keeps the event.
      throw new TerminalError('NOT_FOUND', `connection ${connectionId} no longer exists`);
    }
    if (c.status === 'needs_reauth') {
      // Retried on the schedule: once someone re-authorizes, the same delivery succeeds.
      throw new TransientError('SALESFORCE_REAUTH_REQUIRED', `connection ${connectionId} needs re-authorization`);
    }
    const followed = this.deps.sources?.supervisor(connectionId)?.session;
    if (followed && followed.state !== 'closed' && followed.state !== 'needs_reauth') {
      this.#cache.delete(connectionId);
      return followed;
    }
    const cached = this.#cache.get(connectionId);
    // A session in needs_reauth is kept until the grant changes: it refuses at once instead of asking Salesforce again.
    if (cached && cached.grant === grantOf(c) && cached.session.state !== 'closed') return cached.session;
    const session = new OrgSession({
      connectionId: c.id,
      orgId: c.orgId,
      instanceUrl: c.instanceUrl,
      ...(this.deps.tokens ? { tokens: this.deps.tokens.source(c.id) } : this.deps.connections.credentials(c)),
      logger: this.deps.logger.child({ connectionId: c.id, orgId: c.orgId, for: 'workflows' }),
      egress: this.deps.egress,
      onReauthRequired: (reason) => {
        void this.deps.connections
          .markNeedsReauth(c.id, reason)
          .catch((err: unknown) => this.deps.logger.error({ err, connectionId: c.id }, 'could not record needs_reauth'));
      },
    });
    this.#cache.set(connectionId, { session, grant: grantOf(c) });
    return session;
  }

  close(): void {
    this.#cache.clear();
  }
}
