import { useEffect, useState } from 'preact/hooks';
import { CreateSubscriptionSchema } from '../../../src/api/subscription-schema.js';
import { TRIGGERS } from '../../../src/events/schema.js';
import { api, type Subscription } from '../api.js';
import { ago, ChangeButton, errorText, html, type PageProps } from '../html.js';
import { useConnections } from './connections.js';

export function useSubscriptions(): { subscriptions: Subscription[] | undefined; error: string | undefined; reload: () => void } {
  const [subscriptions, setSubscriptions] = useState<Subscription[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    const load = () =>
      api<{ data: Subscription[] }>('GET', '/v1/subscriptions').then(
        (r) => live && (setSubscriptions(r.data), setError(undefined)),
        (e: unknown) => live && setError(errorText(e)),
      );
    void load();
    const t = setInterval(() => void load(), 3_000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [tick]);
  return { subscriptions, error, reload: () => setTick((n) => n + 1) };
}

export const destinationText = (s: Pick<Subscription, 'destination'>): string =>
  s.destination.type === 'webhook' ? s.destination.url : `workflow ${s.destination.workflow}`;

function successRate(s: Subscription): string {
  return s.delivery.attempts ? `${Math.round((100 * s.delivery.delivered) / s.delivery.attempts)} %` : '—';
}

interface Draft {
  connectionId: string;
  trigger: string;
  object: string;
  fields: string;
  destinationType: 'webhook' | 'workflow';
  url: string;
  workflow: string;
}

function CreateForm({ canWrite, onCreated }: { canWrite: boolean; onCreated: (secret: string | undefined) => void }) {
  const { connections } = useConnections();
  const [d, setD] = useState<Draft>({ connectionId: '', trigger: 'record.created', object: '', fields: '', destinationType: 'webhook', url: '', workflow: '' });
  const [issues, setIssues] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const connectionId = d.connectionId || connections?.[0]?.id || '';
  const objects = connections?.find((c) => c.id === connectionId)?.objects.map((o) => o.object) ?? [];
  const set = (k: keyof Draft) => (e: Event) => setD({ ...d, [k]: (e.target as HTMLInputElement).value });

  const submit = async (e: Event) => {
    e.preventDefault();
    const fields = d.fields
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean);
    const body = {
      connectionId,
      trigger: d.trigger,
      ...(d.object.trim() ? { object: d.object.trim() } : {}),
      ...(fields.length ? { fields } : {}),
      destination: d.destinationType === 'webhook' ? { type: 'webhook', url: d.url.trim() } : { type: 'workflow', workflow: d.workflow.trim() },
    };
    // The API's own schema: what it would refuse is refused here, with the same words.
    const parsed = CreateSubscriptionSchema.safeParse(body);
    if (!parsed.success) {
      const found: Record<string, string> = {};
      for (const i of parsed.error.issues) found[String(i.path[0] ?? 'form')] ??= i.message;
      setIssues(found);
      return;
    }
    setIssues({});
    setBusy(true);
    try {
      const created = await api<{ secret?: string }>('POST', '/v1/subscriptions', parsed.data);
      setError(undefined);
      onCreated(created.secret);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const issue = (k: string) => (issues[k] ? html`<span class="error" id=${`issue-${k}`} role="alert">${issues[k]}</span>` : null);
  return html`<form class="create" onSubmit=${submit} aria-label="Create a subscription" novalidate>
    <h2>New subscription</h2>
    <div class="grid">
      <label
        >Connection
        <select name="connectionId" value=${connectionId} onChange=${set('connectionId')}>
          ${(connections ?? []).map((c) => html`<option value=${c.id}>${c.orgId}</option>`)}
        </select>
        ${issue('connectionId')}
      </label>
      <label
        >Trigger
        <select name="trigger" value=${d.trigger} onChange=${set('trigger')}>
          ${TRIGGERS.map((t) => html`<option value=${t}>${t}</option>`)}
        </select>
      </label>
      <label
        >Object
        <input name="object" list="objects" value=${d.object} onInput=${set('object')} placeholder="Lead" aria-describedby="issue-object" />
        <datalist id="objects">${objects.map((o) => html`<option value=${o}></option>`)}</datalist>
        ${issue('object')}
      </label>
      <label
        >Fields (record.updated only, comma-separated)
        <input name="fields" value=${d.fields} onInput=${set('fields')} placeholder="Status, Email" />
        ${issue('fields')}
      </label>
      <label
        >Destination
        <select name="destinationType" value=${d.destinationType} onChange=${set('destinationType')}>
          <option value="webhook">webhook</option>
          <option value="workflow">workflow</option>
        </select>
      </label>
      ${
        d.destinationType === 'webhook'
          ? html`<label
              >Webhook URL
              <input name="url" type="url" value=${d.url} onInput=${set('url')} placeholder="https://example.com/hook" />
              ${issue('destination')}
            </label>`
          : html`<label
              >Workflow
              <input name="workflow" value=${d.workflow} onInput=${set('workflow')} />
              ${issue('destination')}
            </label>`
      }
    </div>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    <${ChangeButton} canWrite=${canWrite} busy=${busy} label="Create" name="create" submit=${true} />
  </form>`;
}

export function SubscriptionsPage({ canWrite }: PageProps) {
  const { subscriptions, error, reload } = useSubscriptions();
  const [note, setNote] = useState<string | undefined>(undefined);
  const [secret, setSecret] = useState<string | undefined>(undefined);
  const [confirming, setConfirming] = useState<string | undefined>(undefined);
  const act = async (fn: () => Promise<unknown>, done: (r: unknown) => string) => {
    try {
      setNote(done(await fn()));
    } catch (e) {
      setNote(errorText(e));
    }
    reload();
  };
  return html`<section aria-labelledby="h-subscriptions">
    <div class="title"><h1 id="h-subscriptions">Subscriptions</h1></div>
    ${note ? html`<p class="note" role="status" data-testid="note">${note}</p>` : null} ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${
      secret
        ? html`<p class="secret" role="status">
            Signing secret (shown once): <code data-testid="secret">${secret}</code> <button type="button" onClick=${() => setSecret(undefined)}>Hide</button>
          </p>`
        : null
    }
    <div class="scroll">
      <table class="subscriptions">
        <thead>
          <tr>
            <th scope="col">Trigger</th>
            <th scope="col">Object</th>
            <th scope="col">Destination</th>
            <th scope="col">State</th>
            <th scope="col">Success</th>
            <th scope="col">Last attempt</th>
            <th scope="col">Last error</th>
            <th scope="col">DLQ</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          ${(subscriptions ?? []).map(
            (s) =>
              html`<tr data-testid="subscription" data-id=${s.id} data-destination=${destinationText(s)}>
                <td>${s.trigger}</td>
                <td>${s.object ?? '—'}${s.fields ? html`<br /><small>${s.fields.join(', ')}</small>` : null}</td>
                <td class="wrap">${destinationText(s)}</td>
                <td><span class=${`badge ${s.delivery.state}`} data-testid="state">${s.delivery.state}</span></td>
                <td>${successRate(s)} <small>(${s.delivery.delivered}/${s.delivery.attempts})</small></td>
                <td>${ago(s.delivery.lastAttemptAt)}</td>
                <td class="wrap" data-testid="last-error">${s.delivery.lastError ?? '—'}</td>
                <td data-testid="dlq">${s.delivery.dlqCount}</td>
                <td class="actions">
                  <a href=${`#/deliveries/${s.id}`}>Deliveries</a>
                  ${
                    s.pausedAt
                      ? html`<${ChangeButton}
                          canWrite=${canWrite}
                          label="Resume"
                          onClick=${() =>
                            void act(
                              () => api('POST', `/v1/subscriptions/${s.id}/resume`),
                              () => 'Resumed',
                            )}
                        />`
                      : html`<${ChangeButton}
                          canWrite=${canWrite}
                          label="Pause"
                          onClick=${() =>
                            void act(
                              () => api('POST', `/v1/subscriptions/${s.id}/pause`),
                              () => 'Paused',
                            )}
                        />`
                  }
                  <${ChangeButton}
                    canWrite=${canWrite}
                    label="Redeliver DLQ"
                    onClick=${() =>
                      void act(
                        () => api('POST', `/v1/subscriptions/${s.id}/redeliver`, { dlq: true }),
                        (r) => `Redelivering ${(r as { count: number }).count} dead letter(s)`,
                      )}
                  />
                  ${
                    s.destination.type === 'webhook'
                      ? html`<${ChangeButton}
                          canWrite=${canWrite}
                          label="Rotate secret"
                          onClick=${() =>
                            void act(
                              () => api<{ secret: string }>('POST', `/v1/subscriptions/${s.id}/rotate-secret`),
                              (r) => (setSecret((r as { secret: string }).secret), 'Secret rotated; the previous one signs for 24 h more'),
                            )}
                        />`
                      : null
                  }
                  ${
                    confirming === s.id
                      ? html`<${ChangeButton}
                            canWrite=${canWrite}
                            danger=${true}
                            label="Confirm delete"
                            onClick=${() =>
                              void act(
                                () => api('DELETE', `/v1/subscriptions/${s.id}`),
                                () => 'Deleted',
                              )}
                          />
                          <button type="button" onClick=${() => setConfirming(undefined)}>Keep</button>`
                      : html`<${ChangeButton} canWrite=${canWrite} danger=${true} label="Delete" onClick=${() => setConfirming(s.id)} />`
                  }
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${subscriptions?.length === 0 ? html`<p>No subscription yet.</p>` : null}
    <${CreateForm}
      canWrite=${canWrite}
      onCreated=${(sec: string | undefined) => {
        setSecret(sec);
        setNote('Subscription created');
        reload();
      }}
    />
  </section>`;
}
