import { z } from 'zod';

/**
 * Settings of connecting orgs: the operator's own OAuth app, where "production" and "sandbox"
 * log in, the package that installs the app in a new org, and the hosted connect page's branding.
 */
const url = z.url({ protocol: /^https?$/ });

/** The service's OAuth app, used by connect sessions that name none; both halves or neither. */
export const OAuthAppSchema = z
  .object({ clientId: z.string().min(1).max(512).optional(), clientSecret: z.string().min(1).max(512).optional() })
  .strict()
  .superRefine((v, ctx) => {
    if ((v.clientId === undefined) !== (v.clientSecret === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [v.clientId === undefined ? 'clientId' : 'clientSecret'],
        message: 'required with the other half of the OAuth app',
      });
    }
  })
  .transform((v) => (v.clientId && v.clientSecret ? { clientId: v.clientId, clientSecret: v.clientSecret } : undefined));

export const ConnectConfigSchema = z
  .object({
    oauthApp: OAuthAppSchema.optional(),
    /** Where each environment logs in; other values than Salesforce's serve tests and private clouds. */
    loginUrls: z
      .object({ production: url.default('https://login.salesforce.com'), sandbox: url.default('https://test.salesforce.com') })
      .strict()
      .default({ production: 'https://login.salesforce.com', sandbox: 'https://test.salesforce.com' }),
    /** The package that installs the OAuth app in an org (offered before, and when an uninstalled app is refused). */
    packageInstallUrl: url.optional(),
    brand: z
      .object({
        name: z.string().min(1).max(80).default('forcehook'),
        logoUrl: z.url({ protocol: /^https$/ }).optional(),
        /** `#rgb` or `#rrggbb`: it goes into the page's stylesheet, so nothing else is accepted. */
        color: z
          .string()
          .regex(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'a colour as #rgb or #rrggbb')
          .default('#0b5cab'),
      })
      .strict()
      .default({ name: 'forcehook', color: '#0b5cab' }),
  })
  .strict();

export type ConnectConfig = z.output<typeof ConnectConfigSchema>;

export const CONNECT_ENV = {
  FORCEHOOK_OAUTH_CLIENT_ID: ['connect', 'oauthApp', 'clientId'],
  FORCEHOOK_OAUTH_CLIENT_SECRET: ['connect', 'oauthApp', 'clientSecret'],
  FORCEHOOK_PRODUCTION_LOGIN_URL: ['connect', 'loginUrls', 'production'],
  FORCEHOOK_SANDBOX_LOGIN_URL: ['connect', 'loginUrls', 'sandbox'],
  FORCEHOOK_PACKAGE_INSTALL_URL: ['connect', 'packageInstallUrl'],
  FORCEHOOK_BRAND_NAME: ['connect', 'brand', 'name'],
  FORCEHOOK_BRAND_LOGO_URL: ['connect', 'brand', 'logoUrl'],
  FORCEHOOK_BRAND_COLOR: ['connect', 'brand', 'color'],
} as const;
