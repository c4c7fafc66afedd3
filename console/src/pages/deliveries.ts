import { useEffect, useState } from 'preact/hooks';
import { RedeliverSchema } from '../../../src/api/subscription-schema.js';
import { api, type Attempt } from '../api.js';
import { ChangeButton, errorText, html, type PageProps } from '../html.js';
import { destinationText, useSubscriptions } from './subscriptions.js';

export function DeliveriesPage({ canWrite, arg }: PageProps) {
  const { subscriptions } = useSubscriptions();
  const id = arg ?? subscriptions?.[0]?.id;
  const sub = subscriptions?.find((s) => s.id === id);
  const [status, setStatus] = useState('');
  const [attempts, setAttempts] = useState<Attempt[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [note, setNote] = useState<string | undefined>(undefined);
  const [open, setOpen] = useState<string | undefined>(undefined);

  useEffect(() => {
    if (!id) return;
    let live = true;
    const load = () =>
      api<{ data: Attempt[] }>('GET', `/v1/subscriptions/${id}/deliveries?limit=100${status ? `&status=${status}` : ''}`).then(
        (r) => live && (setAttempts(r.data), setError(undefined)),
        (e: unknown) => live && setError(errorText(e)),
      );
    void load();
    const t = setInterval(() => void load(), 3_000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [id, status]);

  const redeliver = async (body: unknown, what: string) => {
    // The API's own schema: a range whose end is not after its start is refused here already.
    const parsed = RedeliverSchema.safeParse(body);
    if (!parsed.success) {
      setNote(parsed.error.issues.map((i) => `${i.path.join('.') || 'range'}: ${i.message}`).join('; '));
      return;
    }
    try {
      const r = await api<{ count: number }>('POST', `/v1/subscriptions/${id}/redeliver`, parsed.data);
      setNote(`Redelivering ${r.count} ${what}`);
    } catch (e) {
      setNote(errorText(e));
    }
  };
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const iso = (local: string) => (local && !Number.isNaN(Date.parse(local)) ? new Date(local).toISOString() : local);
  // Latency of the attempts listed (their durations), for the endpoint's recent health.
  const durations = (attempts ?? [])
    .filter((a) => a.status !== 'dead')
    .map((a) => a.durationMs)
    .sort((a, b) => a - b);
  const pct = (p: number) => (durations.length ? `${Math.round(durations[Math.min(durations.length - 1, Math.floor(p * durations.length))]!)} ms` : '—');

  return html`<section aria-labelledby="h-deliveries">
    <div class="title"><h1 id="h-deliveries">Deliveries</h1></div>
    <form class="filters" aria-label="Choose deliveries" onSubmit=${(e: Event) => e.preventDefault()}>
      <label
        >Subscription
        <select
          name="subscription"
          value=${id ?? ''}
          onChange=${(e: Event) => {
            location.hash = `#/deliveries/${(e.target as HTMLSelectElement).value}`;
          }}
        >
          ${(subscriptions ?? []).map((s) => html`<option value=${s.id}>${s.trigger} ${s.object ?? ''} → ${destinationText(s)}</option>`)}
        </select>
      </label>
      <label
        >Status
        <select name="status" value=${status} onChange=${(e: Event) => setStatus((e.target as HTMLSelectElement).value)}>
          <option value="">all</option>
          <option value="delivered">delivered</option>
          <option value="failed">failed</option>
          <option value="dead">dead</option>
        </select>
      </label>
      ${
        sub
          ? html`<${ChangeButton}
              canWrite=${canWrite}
              label=${`Redeliver DLQ (${sub.delivery.dlqCount})`}
              name="redeliver-dlq"
              onClick=${() => void redeliver({ dlq: true }, 'dead letter(s)')}
            />`
          : null
      }
    </form>
    <form
      class="filters"
      aria-label="Redeliver a time range"
      onSubmit=${(e: Event) => {
        e.preventDefault();
        void redeliver({ from: iso(from), to: iso(to) }, 'event(s) of the range');
      }}
    >
      <label
        >From <input name="from" type="datetime-local" step="1" value=${from} onInput=${(e: Event) => setFrom((e.target as HTMLInputElement).value)}
      /></label>
      <label>To <input name="to" type="datetime-local" step="1" value=${to} onInput=${(e: Event) => setTo((e.target as HTMLInputElement).value)} /></label>
      <${ChangeButton} canWrite=${canWrite} label="Redeliver range" name="redeliver-range" submit=${true} />
    </form>
    <p class="hint" data-testid="latency">Latency of these attempts: median ${pct(0.5)}, 95th percentile ${pct(0.95)}</p>
    ${note ? html`<p class="note" role="status">${note}</p>` : null} ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${!id ? html`<p>No subscription yet.</p>` : null}
    <div class="scroll">
      <table class="attempts">
        <thead>
          <tr>
            <th scope="col">At</th>
            <th scope="col">Event</th>
            <th scope="col">Attempt</th>
            <th scope="col">Status</th>
            <th scope="col">HTTP</th>
            <th scope="col">Duration</th>
            <th scope="col">Response / error</th>
          </tr>
        </thead>
        <tbody>
          ${(attempts ?? []).map((a) => {
            const k = `${a.eventId}:${a.attempt}:${a.status}`;
            return html`<tr data-testid="attempt" data-status=${a.status}>
              <td>${new Date(a.at).toLocaleTimeString()}</td>
              <td class="mono">${a.eventId.slice(0, 8)}…</td>
              <td>${a.attempt}</td>
              <td><span class=${`badge ${a.status}`}>${a.status}</span></td>
              <td data-testid="response-status">${a.responseStatus ?? '—'}</td>
              <td>${Math.round(a.durationMs)} ms</td>
              <td class="wrap">
                ${
                  a.error
                    ? html`<button type="button" class="link" aria-expanded=${open === k} onClick=${() => setOpen(open === k ? undefined : k)}>
                          ${open === k ? 'hide' : 'show'}
                        </button>
                        ${open === k ? html`<pre class="response" data-testid="response">${a.error}</pre>` : html`<span>${a.error.slice(0, 60)}</span>`}`
                    : ''
                }
              </td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>
    ${attempts?.length === 0 ? html`<p>No attempt in the log (it keeps 7 days).</p>` : null}
  </section>`;
}
