import type { RequestHandler } from 'express';
import type { Emulator } from '../emulator.js';
import type { Org } from '../org.js';
import { bearer, identityUrl } from './common.js';

/** The identity of an org's user as Salesforce describes it: its URLs and profile fields (shared by userinfo and the identity URL). */
function identity(em: Emulator, org: Org): Record<string, unknown> {
  const u = org.user;
  const base = em.baseUrl;
  const org15 = org.id.slice(0, 15);
  const v = '{version}';
  return {
    urls: {
      enterprise: `${base}/services/Soap/c/${v}/${org15}`,
      metadata: `${base}/services/Soap/m/${v}/${org15}`,
      partner: `${base}/services/Soap/u/${v}/${org15}`,
      rest: `${base}/services/data/v${v}/`,
      sobjects: `${base}/services/data/v${v}/sobjects/`,
      search: `${base}/services/data/v${v}/search/`,
      query: `${base}/services/data/v${v}/query/`,
      recent: `${base}/services/data/v${v}/recent/`,
      tooling_soap: `${base}/services/Soap/T/${v}/${org15}`,
      tooling_rest: `${base}/services/data/v${v}/tooling/`,
      profile: `${base}/${u.id}`,
      custom_domain: base,
    },
    active: true,
    user_type: 'STANDARD',
    language: 'en_US',
    locale: 'en_US',
    utcOffset: -28800000,
    email: u.email,
    photos: { picture: `${base}/profilephoto/005/F`, thumbnail: `${base}/profilephoto/005/T` },
  };
}

/** GET /services/oauth2/userinfo: the OpenID Connect claims of the token's user. */
export function userinfoEndpoint(em: Emulator): RequestHandler {
  return (req, res) => {
    const g = em.tokens.validateAccess(bearer(req));
    const org = g && em.org(g.orgId);
    if (!org) {
      res.status(403).type('text/plain').send('Bad_OAuth_Token');
      return;
    }
    const u = org.user;
    const { urls, active, user_type, language, locale, utcOffset, email, photos } = identity(em, org);
    res.json({
      sub: identityUrl(em, org),
      user_id: u.id,
      organization_id: org.id,
      preferred_username: u.username,
      nickname: u.username.split('@')[0],
      name: `${u.firstName} ${u.lastName}`,
      email,
      email_verified: true,
      given_name: u.firstName,
      family_name: u.lastName,
      zoneinfo: 'America/Los_Angeles',
      photos,
      profile: `${em.baseUrl}/${u.id}`,
      picture: (photos as Record<string, string>).picture,
      address: {},
      is_salesforce_integration_user: false,
      urls,
      active,
      user_type,
      language,
      locale,
      utcOffset,
      updated_at: new Date(org.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
  };
}

/** GET /id/:orgId/:userId: the identity URL, for a token of that very user. */
export function identityEndpoint(em: Emulator): RequestHandler<{ orgId: string; userId: string }> {
  return (req, res) => {
    const g = em.tokens.validateAccess(bearer(req));
    const org = g && em.org(g.orgId);
    if (!org || org.id !== em.org(req.params.orgId)?.id || req.params.userId.slice(0, 15) !== org.user.id.slice(0, 15)) {
      res.status(403).type('text/plain').send('Bad_OAuth_Token');
      return;
    }
    const u = org.user;
    const id = identity(em, org);
    res.json({
      id: identityUrl(em, org),
      asserted_user: true,
      user_id: u.id,
      organization_id: org.id,
      username: u.username,
      nick_name: u.username.split('@')[0],
      display_name: `${u.firstName} ${u.lastName}`,
      email: u.email,
      email_verified: true,
      first_name: u.firstName,
      last_name: u.lastName,
      timezone: 'America/Los_Angeles',
      photos: id.photos,
      addr_street: null,
      addr_city: null,
      addr_state: null,
      addr_country: null,
      addr_zip: null,
      mobile_phone: null,
      mobile_phone_verified: false,
      is_lightning_login_user: false,
      status: { created_date: null, body: null },
      urls: id.urls,
      active: true,
      user_type: 'STANDARD',
      language: 'en_US',
      locale: 'en_US',
      utcOffset: -28800000,
      last_modified_date: new Date(org.createdAt).toISOString().replace('Z', '+0000'),
      is_app_installed: true,
    });
  };
}
