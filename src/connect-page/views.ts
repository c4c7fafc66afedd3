import type { Choice } from '../salesforce/catalog.js';
import type { ConnectSessionRecord } from '../state/records.js';
import { html, type Html } from './html.js';

export type FieldErrors = Partial<Record<'environment' | 'loginUrl' | 'clientId' | 'clientSecret', string>>;

export interface StartValues {
  environment?: string | undefined;
  loginUrl?: string | undefined;
  clientId?: string | undefined;
}

function fieldError(id: string, message: string | undefined): Html {
  return message ? html`<p class="field-error" id="${id}-error">${message}</p>` : html``;
}

/** `aria-describedby` for a field: its hint and, when there is one, its error. */
function describedBy(id: string, errors: FieldErrors, hint = false): string {
  return [hint ? `${id}-hint` : '', errors[id as keyof FieldErrors] ? `${id}-error` : ''].filter(Boolean).join(' ');
}

const LABELS: Record<string, string> = {
  environment: 'Where your org logs in',
  loginUrl: 'My Domain URL',
  clientId: 'Consumer key',
  clientSecret: 'Consumer secret',
};

/** The summary at the top of a form that was refused: each problem, named and linked to its field. */
export function errorSummary(errors: Record<string, string | undefined>, labels: Record<string, string> = LABELS): Html {
  const entries = Object.entries(errors).filter((e): e is [string, string] => e[1] !== undefined);
  if (entries.length === 0) return html``;
  return html`<div class="errors" role="alert" tabindex="-1" id="errors">
    <h2>Please check this</h2>
    <ul>
      ${entries.map(([field, message]) => html`<li><a href="#${field}">${labels[field] ?? field}: ${message}</a></li>`)}
    </ul>
  </div>`;
}

export function startView(
  s: ConnectSessionRecord,
  opts: { brandName: string; loginUrls: { production: string; sandbox: string }; needsUserApp: boolean; values: StartValues; errors: FieldErrors },
): Html {
  const { values, errors } = opts;
  const env = values.environment ?? (s.environment ? s.environment : s.loginUrl === new URL(opts.loginUrls.sandbox).origin ? 'sandbox' : 'production');
  const myDomainPreset =
    values.loginUrl ?? (!s.environment && ![opts.loginUrls.production, opts.loginUrls.sandbox].some((u) => new URL(u).origin === s.loginUrl) ? s.loginUrl : '');
  const radio = (value: string, label: string, hint: string) =>
    html`<label class="choice"
      ><input type="radio" name="environment" value="${value}" ${env === value ? html`checked` : ''} /><span
        >${label}<br /><span class="hint">${hint}</span></span
      ></label
    >`;
  const userApp = s.allowUserOAuth
    ? html`<fieldset>
        <legend>Your own OAuth app${opts.needsUserApp ? '' : ' (optional)'}</legend>
        <p class="hint" id="clientId-hint">
          ${opts.needsUserApp ? 'Enter' : 'To use a connected app or External Client App of your own, enter'} its consumer key and secret. Its callback URL must
          be <code>${s.redirectUri}</code>.
        </p>
        <label for="clientId">Consumer key</label>
        <input
          type="text"
          id="clientId"
          name="clientId"
          autocomplete="off"
          value="${values.clientId ?? ''}"
          aria-describedby="${describedBy('clientId', errors, true)}"
          ${errors.clientId ? html`aria-invalid="true"` : ''}
        />
        ${fieldError('clientId', errors.clientId)}
        <label for="clientSecret">Consumer secret</label>
        <input
          type="password"
          id="clientSecret"
          name="clientSecret"
          autocomplete="off"
          aria-describedby="${describedBy('clientSecret', errors)}"
          ${errors.clientSecret ? html`aria-invalid="true"` : ''}
        />
        ${fieldError('clientSecret', errors.clientSecret)}
      </fieldset>`
    : '';
  const install = s.packageInstallUrl
    ? html`<section aria-labelledby="install-h">
        <h2 id="install-h">First time connecting this org?</h2>
        <p>
          A Salesforce admin of your org installs ${opts.brandName}'s package once, before anyone connects:
          <a href="${s.packageInstallUrl}" rel="noopener noreferrer">Install the package</a>. Already installed? Continue below.
        </p>
      </section>`
    : '';
  return html`<h1>Connect your Salesforce org</h1>
    ${errorSummary(errors)} ${install}
    <form method="post" action="/connect/${s.id}" novalidate>
      <fieldset aria-describedby="${describedBy('environment', errors)}">
        <legend id="environment">Where does your org log in?</legend>
        ${radio('production', 'Production', new URL(opts.loginUrls.production).host)} ${radio('sandbox', 'Sandbox', new URL(opts.loginUrls.sandbox).host)}
        ${radio('mydomain', 'My Domain', 'your own login address')} ${fieldError('environment', errors.environment)}
        <label for="loginUrl">My Domain URL</label>
        <p class="hint" id="loginUrl-hint">Only for My Domain, e.g. https://yourcompany.my.salesforce.com</p>
        <input
          type="url"
          id="loginUrl"
          name="loginUrl"
          inputmode="url"
          value="${myDomainPreset}"
          aria-describedby="${describedBy('loginUrl', errors, true)}"
          ${errors.loginUrl ? html`aria-invalid="true"` : ''}
        />
        ${fieldError('loginUrl', errors.loginUrl)}
      </fieldset>
      ${userApp}
      <button type="submit">Continue to Salesforce</button>
    </form>`;
}

/** What an admin of the org does when Salesforce refused an app that is not installed. */
function uninstalledAppSteps(brandName: string, packageInstallUrl: string | undefined): Html {
  return html`<p>
      Your org has not installed ${brandName}'s app, and your Salesforce user may not approve apps that are not installed (Salesforce's rule since September
      2025). A Salesforce admin of your org can do one of these, then you connect again:
    </p>
    <ol>
      ${packageInstallUrl ? html`<li><strong>Install the app's package:</strong> <a href="${packageInstallUrl}" rel="noopener noreferrer">Install the package</a>.</li>` : html`<li><strong>Install the app:</strong> in Setup, open <em>Connected Apps OAuth Usage</em>, find ${brandName}'s app and click <em>Install</em>.</li>`}
      <li>
        <strong>Or allow your user to approve it:</strong> in Setup, open <em>Permission Sets</em> and create one; under <em>System Permissions</em> enable
        <em>Approve Uninstalled Connected Apps</em>; save, then <em>Manage Assignments</em> and add your user.
      </li>
    </ol>`;
}

const FAILURES: Record<string, string> = {
  access_denied: 'Access was denied on the Salesforce page, so nothing was connected.',
  org_mismatch: 'You logged in to another org than the one this link is for. Log in to the right org and try again.',
  already_connected: 'This org is connected already; nothing changed.',
  invalid_grant: 'Salesforce did not accept the authorization. Try again.',
};

export function outcomeView(s: ConnectSessionRecord, opts: { brandName: string; continueUrl?: string | undefined; mappingsUrl?: string | undefined }): Html {
  const back = opts.continueUrl
    ? html`<p><a class="button" href="${opts.continueUrl}">${s.status === 'completed' ? 'Continue' : 'Back'} to ${new URL(opts.continueUrl).host}</a></p>`
    : html`<p>You can close this window.</p>`;
  if (s.status === 'completed') {
    if (opts.mappingsUrl) {
      return html`<h1>Connected</h1>
        <p class="ok" role="status">Your org ${s.orgId ?? ''} is connected.</p>
        <p>One more step: tell ${opts.brandName} which fields to use.</p>
        <p><a class="button" href="${opts.mappingsUrl}">Choose fields</a></p>`;
    }
    return html`<h1>Connected</h1>
      <p class="ok" role="status">Your org ${s.orgId ?? ''} is connected to ${opts.brandName}.</p>
      ${back}`;
  }
  const why =
    s.error === 'app_not_installed'
      ? uninstalledAppSteps(opts.brandName, s.packageInstallUrl)
      : html`<p>${FAILURES[s.error ?? ''] ?? s.errorDescription ?? s.error ?? 'The connection failed.'}</p>`;
  return html`<h1>Not connected</h1>
    <div role="alert">${why}</div>
    <p class="hint">Code: <code>${s.error ?? 'unknown'}</code>. This link is spent; ask ${opts.brandName} for a new one to try again.</p>
    ${back}`;
}

export function messageView(title: string, text: string, link?: { href: string; label: string }): Html {
  return html`<h1>${title}</h1>
    <p>${text}</p>
    ${link ? html`<p><a class="button" href="${link.href}">${link.label}</a></p>` : ''}`;
}

export interface MappingChoiceView {
  sessionId: string;
  index: number;
  count: number;
  name: string;
  labels: string[];
  objects: Choice[];
  object?: string | undefined;
  fields?: Choice[] | undefined;
  values: Record<string, string | undefined>;
  errors: Record<string, string | undefined>;
}

const choiceLabel = (c: Choice) => `${c.label} (${c.name})${c.custom ? ' · custom' : ''}`;

/** Choosing one mapping: its object (a GET form, so it works without script), then a field per label. */
export function mappingChoiceView(v: MappingChoiceView): Html {
  const action = `/connect/${v.sessionId}/mappings/${v.index}`;
  const labels: Record<string, string> = { object: 'Object', ...Object.fromEntries(v.labels.map((l) => [`field_${l}`, l])) };
  const objectForm = html`<form method="get" action="${action}">
    <label for="object">Which object holds your ${v.name}?</label>
    <select id="object" name="object" ${v.errors.object ? html`aria-invalid="true" aria-describedby="object-error"` : ''}>
      <option value="">Choose an object</option>
      ${v.objects.map((o) => html`<option value="${o.name}" ${o.name === v.object ? html`selected` : ''}>${choiceLabel(o)}</option>`)}
    </select>
    ${v.errors.object ? html`<p class="field-error" id="object-error">${v.errors.object}</p>` : ''}
    <p><button type="submit" class="secondary">Use this object</button></p>
  </form>`;
  const fieldsForm =
    v.object && v.fields
      ? html`<form method="post" action="${action}">
          <input type="hidden" name="object" value="${v.object}" />
          <fieldset>
            <legend>Fields of ${v.object}</legend>
            ${v.labels.map((l) => {
              const id = `field_${l}`;
              const err = v.errors[id];
              return html`<label for="${id}">${l}</label>
                <select id="${id}" name="${id}" ${err ? html`aria-invalid="true" aria-describedby="${id}-error"` : ''}>
                  <option value="">Choose a field</option>
                  ${v.fields!.map((f) => html`<option value="${f.name}" ${f.name === v.values[id] ? html`selected` : ''}>${choiceLabel(f)}</option>`)}
                </select>
                ${err ? html`<p class="field-error" id="${id}-error">${err}</p>` : ''}`;
            })}
          </fieldset>
          <button type="submit">Save</button>
        </form>`
      : '';
  return html`<h1>Choose fields</h1>
    <p class="hint">${v.count > 1 ? `Step ${v.index + 1} of ${v.count}: ` : ''}${v.name}</p>
    ${errorSummary(v.errors, labels)} ${objectForm} ${fieldsForm}`;
}
