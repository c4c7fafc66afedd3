import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ago, errorText, html, type PageProps } from '../html.js';

interface Cluster {
  instances: { memberId: string; clientId: string; host: string; partitions: number[]; follows: { connectionId: string; orgId: string }[] }[];
  lag: { group: string; topic: string; partition: number; committed: string | null; high: string; lag: number }[];
  replay: { kind: 'cdc' | 'poll'; orgId: string | null; channel?: string; replayId?: string; object?: string; systemModstamp?: string; updatedAt: string }[];
}

export function ClusterPage(_props: PageProps) {
  const [c, setC] = useState<Cluster | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    let live = true;
    const load = () =>
      api<Cluster>('GET', '/v1/cluster').then(
        (r) => live && (setC(r), setError(undefined)),
        (e: unknown) => live && setError(errorText(e)),
      );
    void load();
    const t = setInterval(() => void load(), 5_000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, []);
  const totalLag = (c?.lag ?? []).reduce((n, l) => n + l.lag, 0);
  return html`<section aria-labelledby="h-cluster">
    <div class="title"><h1 id="h-cluster">Cluster</h1></div>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    <h2>Instances</h2>
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Member</th>
            <th scope="col">Host</th>
            <th scope="col">Partitions</th>
            <th scope="col">Orgs followed</th>
          </tr>
        </thead>
        <tbody>
          ${(c?.instances ?? []).map(
            (i) =>
              html`<tr data-testid="instance">
                <td class="wrap mono">${i.memberId}</td>
                <td>${i.host}</td>
                <td>${i.partitions.length}</td>
                <td class="wrap">${i.follows.map((f) => f.orgId).join(', ') || '—'}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    <h2>Delivery lag <small data-testid="total-lag">${totalLag}</small></h2>
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Topic</th>
            <th scope="col">Partition</th>
            <th scope="col">Committed</th>
            <th scope="col">End</th>
            <th scope="col">Lag</th>
          </tr>
        </thead>
        <tbody>
          ${(c?.lag ?? [])
            .filter((l) => l.high !== '0')
            .map(
              (l) =>
                html`<tr data-testid="lag">
                  <td>${l.topic}</td>
                  <td>${l.partition}</td>
                  <td>${l.committed ?? '—'}</td>
                  <td>${l.high}</td>
                  <td>${l.lag}</td>
                </tr>`,
            )}
        </tbody>
      </table>
    </div>
    <h2>Replay positions</h2>
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Org</th>
            <th scope="col">Channel or object</th>
            <th scope="col">Position</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          ${(c?.replay ?? []).map(
            (r) =>
              html`<tr data-testid="replay">
                <td>${r.orgId ?? '—'}</td>
                <td>${r.kind === 'cdc' ? r.channel : `${r.object} (polling)`}</td>
                <td class="mono">${r.kind === 'cdc' ? `replay id ${r.replayId}` : r.systemModstamp}</td>
                <td>${ago(r.updatedAt)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
  </section>`;
}
