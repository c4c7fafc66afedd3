import { logLevel, type logCreator } from 'kafkajs';
import type { Logger } from '../../core/log.js';

/**
 * kafkajs logs at ERROR conditions it retries by itself and that clear within
 * seconds (a coordinator still loading after a broker start, a leader election,
 * a rebalance). At ERROR they page people and bury real failures, so they are
 * lowered; anything not listed keeps its level. Matched against the message and
 * the `error` field (kafkajs logs `Response <Api>` with the broker's error there).
 */
const LOWERED: { pattern: RegExp; level: 'warn' | 'debug' }[] = [
  // ensureTopics creates one topic per request and treats "already exists" as success.
  { pattern: /Topic creation errors|already exists/i, level: 'debug' },
  { pattern: /group is rebalancing|rejoin is needed/i, level: 'debug' },
  { pattern: /coordinator is loading|coordinator is not available|not the correct coordinator|coordinator is not aware of this member/i, level: 'warn' },
  { pattern: /no leader for this topic-partition|not the leader for that topic-partition|leadership election/i, level: 'warn' },
  { pattern: /does not host this topic-partition/i, level: 'warn' },
  // Refused credentials are not retried: the caller logs one line that names the settings to check.
  { pattern: /SASL .*authentication failed|SaslAuthenticate|SASL_AUTHENTICATION_FAILED/i, level: 'warn' },
  // The crash line before it carries the cause at its own level; a crash that does not restart stays an error.
  { pattern: /^Restarting the consumer in/, level: 'warn' },
];

/** The level a kafkajs ERROR line is logged at. */
export function kafkajsErrorLevel(message: string, error?: unknown): 'error' | 'warn' | 'debug' {
  const text = `${message} ${typeof error === 'string' ? error : ''}`;
  for (const { pattern, level } of LOWERED) if (pattern.test(text)) return level;
  return 'error';
}

/**
 * Routes kafkajs's own logs into pino. Only warn and error pass (the client is
 * created with logLevel WARN too): kafkajs logs every join and connect at info,
 * which would drown the service's own lines.
 */
export function pinoLogCreator(logger: Logger): logCreator {
  const base = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _ts, logger: _name, ...extra } = log;
      const fields = { ns: namespace, ...extra };
      if (level === logLevel.ERROR) base[kafkajsErrorLevel(message, (extra as { error?: unknown }).error)](fields, message);
      else if (level === logLevel.WARN) base.warn(fields, message);
    };
}
