import { logLevel, type logCreator } from 'kafkajs';
import type { Logger } from '../../core/log.js';

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
      if (level === logLevel.ERROR) base.error(fields, message);
      else if (level === logLevel.WARN) base.warn(fields, message);
    };
}
