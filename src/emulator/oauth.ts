/**
 * OAuth 2.0 as Salesforce answers it:
 * authorize (a minimal approval page), token (authorization_code,
 * refresh_token, password), revoke, userinfo and the identity URL. A refresh
 * answers no new refresh token unless the org's app rotates them. Each
 * endpoint is a module of its own under `oauth/`.
 */
import express, { type Router } from 'express';
import type { Emulator } from './emulator.js';
import { authorizeDecision, authorizePage } from './oauth/authorize.js';
import { identityEndpoint, userinfoEndpoint } from './oauth/identity.js';
import { revokeEndpoint } from './oauth/revoke.js';
import { tokenEndpoint } from './oauth/token.js';

export { identityUrl } from './oauth/common.js';

export function oauthRouter(em: Emulator): Router {
  const r = express.Router();
  r.use('/services/oauth2', express.urlencoded({ extended: false }));
  r.get('/services/oauth2/authorize', authorizePage(em));
  r.post('/services/oauth2/authorize', authorizeDecision(em));
  r.post('/services/oauth2/token', tokenEndpoint(em));
  const revoke = revokeEndpoint(em);
  r.post('/services/oauth2/revoke', revoke);
  r.get('/services/oauth2/revoke', revoke);
  r.get('/services/oauth2/userinfo', userinfoEndpoint(em));
  r.get('/id/:orgId/:userId', identityEndpoint(em));
  return r;
}
