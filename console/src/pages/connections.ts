import { useEffect, useState } from 'preact/hooks';
import { api, type Connection } from '../api.js';
import { ago, ChangeButton, errorText, html, type PageProps } from '../html.js';

export function useConnections(): { connections: Connection[] | undefined; error: string | undefined; reload: () => void } {
  const [connections, setConnections] = useState<Connection[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    const load = () =>
      api<{ data: Connection[] }>('GET', '/v1/connections').then(
        (r) => live && (setConnections(r.data), setError(undefined)),
        (e: unknown) => live && setError(errorText(e)),
      );
    void load();
    const t = setInterval(() => void load(), 5_000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [tick]);
  return { connections, error, reload: () => setTick((n) => n + 1) };
}

/** Starts a connect session (the OAuth web-server flow) and sends the browser to Salesforce. */
function ConnectForm({ canWrite, onError }: { canWrite: boolean; onError: (message: string) => void }) {
  const [loginUrl, setLoginUrl] = useState('');
  const [clientId, setClientId] = useState('');
  const [clientSecret, setClientSecret] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const s = await api<{ authorizeUrl: string }>('POST', '/v1/connect-sessions', {
        ...(loginUrl.trim() ? { loginUrl: loginUrl.trim() } : {}),
        ...(clientId.trim() ? { oauthApp: { clientId: clientId.trim(), clientSecret } } : {}),
        returnUrl: `${location.origin}/console#/connections`,
      });
      location.assign(s.authorizeUrl);
    } catch (err) {
      onError(errorText(err));
    }
  };
  const value = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);
  return html`<form class="filters" aria-label="Connect an org" onSubmit=${submit}>
    <label>Login URL <input name="loginUrl" type="url" value=${loginUrl} onInput=${value(setLoginUrl)} placeholder="https://login.salesforce.com" /></label>
    <label>OAuth app client id <input name="clientId" value=${clientId} onInput=${value(setClientId)} placeholder="the service's default if empty" /></label>
    <label>Client secret <input name="clientSecret" type="password" autocomplete="off" value=${clientSecret} onInput=${value(setClientSecret)} /></label>
    <${ChangeButton} canWrite=${canWrite} label="Continue at Salesforce" name="connect-start" submit=${true} />
  </form>`;
}

export function ConnectionsPage({ canWrite }: PageProps) {
  const { connections, error, reload } = useConnections();
  const [note, setNote] = useState<string | undefined>(undefined);
  const [connecting, setConnecting] = useState(false);
  const [confirming, setConfirming] = useState<string | undefined>(undefined);
  const act = async (fn: () => Promise<unknown>, done: string) => {
    try {
      await fn();
      setNote(done);
    } catch (e) {
      setNote(errorText(e));
    }
    reload();
  };
  // Re-authorizing keeps the connection's own login URL and OAuth app.
  const reauthorize = (connectionId: string) =>
    act(async () => {
      const s = await api<{ authorizeUrl: string }>('POST', '/v1/connect-sessions', { connectionId, returnUrl: `${location.origin}/console#/connections` });
      location.assign(s.authorizeUrl);
    }, 'Opening Salesforce…');
  return html`<section aria-labelledby="h-connections">
    <div class="title">
      <h1 id="h-connections">Connections</h1>
      <${ChangeButton} canWrite=${canWrite} label="Connect an org" onClick=${() => setConnecting(!connecting)} />
    </div>
    ${connecting ? html`<${ConnectForm} canWrite=${canWrite} onError=${setNote} />` : null} ${note ? html`<p class="note" role="status">${note}</p>` : null}
    ${error ? html`<p class="error" role="alert">${error}</p>` : null} ${connections?.length === 0 ? html`<p>No connection yet.</p>` : null}
    <div class="cards">
      ${(connections ?? []).map(
        (c) =>
          html`<article class="card" data-testid="connection" data-org=${c.orgId} aria-label=${`org ${c.orgId}`}>
            <h2>${c.orgId}</h2>
            <dl>
              <dt>Status</dt>
              <dd><span class=${`badge ${c.status}`} data-testid="connection-status">${c.status}</span>${c.statusReason ? html` ${c.statusReason}` : null}</dd>
              <dt>Subscriber</dt>
              <dd data-testid="subscriber">${c.subscriber}</dd>
              <dt>Instance</dt>
              <dd class="wrap">${c.instanceUrl}</dd>
              <dt>API usage (24 h)</dt>
              <dd data-testid="api-usage">
                ${c.apiUsage ? `${c.apiUsage.used.toLocaleString()} of ${c.apiUsage.limit.toLocaleString()} (${Math.round((100 * c.apiUsage.used) / Math.max(1, c.apiUsage.limit))} %)` : '—'}
              </dd>
              <dt>Tokens refreshed</dt>
              <dd>${ago(c.tokenRefreshedAt)}</dd>
              <dt>Id</dt>
              <dd class="wrap mono">${c.id}</dd>
            </dl>
            <div class="scroll">
              <table>
                <caption>
                  Objects
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Object</th>
                    <th scope="col">Mode</th>
                    <th scope="col">Last event</th>
                  </tr>
                </thead>
                <tbody>
                  ${c.objects.map(
                    (o) =>
                      html`<tr data-testid="object" data-object=${o.object}>
                        <td>${o.object}</td>
                        <td><span class=${`badge mode-${o.mode}`} data-testid="mode">${o.mode}</span></td>
                        <td>${ago(o.lastEventAt)}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>
            ${
              c.warnings.length
                ? html`<ul class="warnings" aria-label="Warnings">
                    ${c.warnings.map((w) => html`<li><strong>${w.code}</strong> ${w.message} <small>since ${ago(w.since)}</small></li>`)}
                  </ul>`
                : null
            }
            <div class="actions">
              ${c.status === 'needs_reauth' ? html`<${ChangeButton} canWrite=${canWrite} label="Re-authorize" onClick=${() => void reauthorize(c.id)} />` : null}
              ${
                confirming === c.id
                  ? html`<${ChangeButton}
                        canWrite=${canWrite}
                        danger=${true}
                        label="Confirm delete"
                        onClick=${() => void act(() => api('DELETE', `/v1/connections/${c.id}`), `Deleted ${c.orgId}`)}
                      />
                      <button type="button" onClick=${() => setConfirming(undefined)}>Keep</button>`
                  : html`<${ChangeButton} canWrite=${canWrite} danger=${true} label="Delete" onClick=${() => setConfirming(c.id)} />`
              }
            </div>
          </article>`,
      )}
    </div>
  </section>`;
}
