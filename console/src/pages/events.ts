import { useEffect, useState } from 'preact/hooks';
import { TRIGGERS } from '../../../src/events/schema.js';
import { api, stream, type Attempt, type CloudEvent } from '../api.js';
import { errorText, html, type PageProps } from '../html.js';
import { useConnections } from './connections.js';
import { destinationText, useSubscriptions } from './subscriptions.js';

const KEEP = 200;

interface Filter {
  connectionId: string;
  type: string;
  object: string;
  recordId: string;
}

function query(f: Filter): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v.trim()) q.set(k, v.trim());
  const s = q.toString();
  return s ? `?${s}` : '';
}

function EventDetail({ event }: { event: CloudEvent }) {
  const { subscriptions } = useSubscriptions();
  const [attempts, setAttempts] = useState<Record<string, Attempt[] | string>>({});
  const mine = (subscriptions ?? []).filter((s) => s.connectionId === event.data?.connectionId);
  const ids = mine.map((s) => s.id).join(',');
  useEffect(() => {
    let live = true;
    for (const s of mine)
      api<{ data: Attempt[] }>('GET', `/v1/subscriptions/${s.id}/deliveries?eventId=${encodeURIComponent(event.id)}`).then(
        (r) => live && setAttempts((a) => ({ ...a, [s.id]: r.data })),
        (e: unknown) => live && setAttempts((a) => ({ ...a, [s.id]: errorText(e) })),
      );
    return () => {
      live = false;
    };
  }, [event.id, ids]);
  const tried = mine.filter((s) => Array.isArray(attempts[s.id]) && (attempts[s.id] as Attempt[]).length > 0);
  return html`<section class="detail" aria-label="Event detail" data-testid="event-detail">
    <h2>Event ${event.id}</h2>
    <pre class="json" tabindex="0">${JSON.stringify(event, null, 2)}</pre>
    <h3>Attempts</h3>
    ${tried.length === 0 ? html`<p>No attempt recorded for this event (yet).</p>` : null}
    ${tried.map(
      (s) =>
        html`<div class="scroll">
          <table>
            <caption>
              ${s.trigger} ${s.object ?? ''} → ${destinationText(s)}
            </caption>
            <thead>
              <tr>
                <th scope="col">At</th>
                <th scope="col">Attempt</th>
                <th scope="col">Status</th>
                <th scope="col">HTTP</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              ${(attempts[s.id] as Attempt[]).map(
                (a) =>
                  html`<tr>
                    <td>${new Date(a.at).toLocaleTimeString()}</td>
                    <td>${a.attempt}</td>
                    <td><span class=${`badge ${a.status}`}>${a.status}</span></td>
                    <td>${a.responseStatus ?? '—'}</td>
                    <td class="wrap">${a.error ?? ''}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>`,
    )}
  </section>`;
}

export function EventsPage(_props: PageProps) {
  const { connections } = useConnections();
  const [filter, setFilter] = useState<Filter>({ connectionId: '', type: '', object: '', recordId: '' });
  const [applied, setApplied] = useState<Filter>(filter);
  const [events, setEvents] = useState<CloudEvent[]>([]);
  const [status, setStatus] = useState('connecting…');
  const [selected, setSelected] = useState<CloudEvent | undefined>(undefined);

  useEffect(() => {
    const ac = new AbortController();
    setEvents([]);
    setStatus('connecting…');
    const q = query(applied);
    void (async () => {
      // The live tail first (so nothing falls between), then what happened recently.
      const tail = stream(
        `/v1/events/stream${q}`,
        (e) => setEvents((list) => (list.some((x) => x.id === (e as CloudEvent).id) ? list : [e as CloudEvent, ...list].slice(0, KEEP))),
        { signal: ac.signal, onReady: () => setStatus('live') },
      ).catch((err: unknown) => {
        if (!ac.signal.aborted) setStatus(`the live tail stopped: ${errorText(err)}`);
      });
      try {
        const recent = await api<{ data: CloudEvent[] }>('GET', `/v1/events${q}${q ? '&' : '?'}limit=50`);
        if (!ac.signal.aborted) setEvents((list) => [...list, ...recent.data.filter((r) => !list.some((x) => x.id === r.id))].slice(0, KEEP));
      } catch (err) {
        if (!ac.signal.aborted) setStatus(`recent events could not be read: ${errorText(err)}`);
      }
      await tail;
    })();
    return () => ac.abort();
  }, [applied]);

  const set = (k: keyof Filter) => (e: Event) => setFilter({ ...filter, [k]: (e.target as HTMLInputElement).value });
  return html`<section aria-labelledby="h-events">
    <div class="title">
      <h1 id="h-events">Events</h1>
      <span class="live" role="status" data-testid="tail-status">${status}</span>
    </div>
    <form
      class="filters"
      aria-label="Filter events"
      onSubmit=${(e: Event) => {
        e.preventDefault();
        setApplied(filter);
      }}
    >
      <label
        >Org
        <select name="connectionId" value=${filter.connectionId} onChange=${set('connectionId')}>
          <option value="">all</option>
          ${(connections ?? []).map((c) => html`<option value=${c.id}>${c.orgId}</option>`)}
        </select>
      </label>
      <label
        >Trigger
        <select name="type" value=${filter.type} onChange=${set('type')}>
          <option value="">all</option>
          ${TRIGGERS.map((t) => html`<option value=${t}>${t}</option>`)}
        </select>
      </label>
      <label>Object <input name="object" value=${filter.object} onInput=${set('object')} placeholder="Lead" /></label>
      <label>Record id <input name="recordId" value=${filter.recordId} onInput=${set('recordId')} /></label>
      <button type="submit">Apply</button>
    </form>
    <div class="split">
      <div class="scroll">
        <table class="events">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Type</th>
              <th scope="col">Object</th>
              <th scope="col">Record</th>
              <th scope="col">By</th>
            </tr>
          </thead>
          <tbody>
            ${events.map(
              (e) =>
                html`<tr data-testid="event" data-id=${e.id} aria-selected=${selected?.id === e.id}>
                  <td>${e.time ? new Date(e.time).toLocaleTimeString() : '—'}</td>
                  <td><button type="button" class="link" onClick=${() => setSelected(e)}>${e.type.replace('salesforce.', '')}</button></td>
                  <td>${e.data?.object ?? ''}</td>
                  <td class="mono">${e.data?.recordId ?? e.subject ?? ''}</td>
                  <td>${String(e.data?.detectedBy ?? '')}</td>
                </tr>`,
            )}
          </tbody>
        </table>
        ${events.length === 0 ? html`<p>No event yet: new ones appear here as they happen.</p>` : null}
      </div>
      ${selected ? html`<${EventDetail} event=${selected} />` : null}
    </div>
  </section>`;
}
