import type { RequestHandler } from 'express';
import type { Emulator } from '../emulator.js';
import { oauthError, params } from './common.js';

/** /services/oauth2/revoke (POST or GET): a token ends, and with a refresh token every access token it issued. */
export function revokeEndpoint(em: Emulator): RequestHandler {
  return (req, res) => {
    const token = params(req).token;
    if (!token || !em.tokens.revoke(token)) {
      oauthError(res, 400, 'unsupported_token_type', 'this token type is not supported');
      return;
    }
    em.onRevoked();
    res.status(200).end();
  };
}
