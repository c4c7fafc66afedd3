/**
 * The operator console: a Preact app (htm templates, no compile step of its
 * own) that talks only to the /v1 API, with the key the operator signed in
 * with. Pages are chosen by the URL's fragment (`#/subscriptions`), so the
 * service serves one HTML file.
 */
import { h, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { api, storeKey, storedKey, type Me } from './api.js';
import { ConnectionsPage } from './pages/connections.js';
import { SubscriptionsPage } from './pages/subscriptions.js';
import { EventsPage } from './pages/events.js';
import { DeliveriesPage } from './pages/deliveries.js';
import { ClusterPage } from './pages/cluster.js';
import './style.css';

const PAGES = [
  { path: 'connections', title: 'Connections' },
  { path: 'subscriptions', title: 'Subscriptions' },
  { path: 'events', title: 'Events' },
  { path: 'deliveries', title: 'Deliveries' },
  { path: 'cluster', title: 'Cluster' },
] as const;

function route(): { page: string; arg: string | undefined } {
  const [page, arg] = location.hash.replace(/^#\/?/, '').split('/');
  return { page: PAGES.some((p) => p.path === page) ? page! : 'connections', arg: arg ? decodeURIComponent(arg) : undefined };
}

function SignIn(props: { onSignedIn: (me: Me) => void; message?: string }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState(props.message);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const me = await api<Me>('GET', '/v1/me', undefined, key.trim());
      storeKey(key.trim());
      props.onSignedIn(me);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin">
    <h1>forcehook</h1>
    <form onSubmit=${submit} aria-label="Sign in">
      <label for="key">API key</label>
      <input
        id="key"
        name="key"
        type="password"
        autocomplete="off"
        required
        value=${key}
        onInput=${(e: Event) => setKey((e.target as HTMLInputElement).value)}
      />
      <p class="hint">FORCEHOOK_API_TOKEN, or an API key: a read key sees everything and changes nothing.</p>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      <button type="submit" disabled=${busy}>Sign in</button>
    </form>
  </main>`;
}

function App() {
  const [me, setMe] = useState<Me | undefined>(undefined);
  const [checking, setChecking] = useState(true);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [where, setWhere] = useState(route());

  useEffect(() => {
    const onHash = () => setWhere(route());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    void (async () => {
      // A one-time sign-in link (`#login=<token>`): traded for the key, then dropped from the address bar.
      const login = /^#login=([A-Za-z0-9_-]+)$/.exec(location.hash)?.[1];
      if (login) {
        history.replaceState(null, '', `${location.pathname}#/connections`);
        setWhere(route());
        try {
          storeKey((await api<{ key: string }>('POST', '/console/login', { token: login }, '')).key);
        } catch (err) {
          setMessage((err as Error).message);
        }
      }
      if (storedKey()) {
        try {
          setMe(await api<Me>('GET', '/v1/me'));
        } catch (err) {
          storeKey(undefined);
          setMessage((err as Error).message);
        }
      }
      setChecking(false);
    })();
  }, []);

  if (checking) return html`<main aria-busy="true"><p>Loading…</p></main>`;
  if (!me) return h(SignIn, { onSignedIn: setMe, ...(message ? { message } : {}) });
  const canWrite = me.scopes.includes('write');
  const signOut = () => {
    storeKey(undefined);
    setMe(undefined);
  };
  const Page = { connections: ConnectionsPage, subscriptions: SubscriptionsPage, events: EventsPage, deliveries: DeliveriesPage, cluster: ClusterPage }[
    where.page as (typeof PAGES)[number]['path']
  ];
  return html`<div class="shell">
    <header>
      <a class="brand" href="#/connections">forcehook</a>
      <nav aria-label="Pages">
        ${PAGES.map((p) => html`<a href=${`#/${p.path}`} aria-current=${where.page === p.path ? 'page' : undefined}>${p.title}</a>`)}
      </nav>
      <span class="who" data-testid="who">${me.kind === 'admin' ? 'admin' : canWrite ? 'read-write key' : 'read-only key'}</span>
      <button type="button" class="link" onClick=${signOut}>Sign out</button>
    </header>
    <main>${h(Page, { canWrite, arg: where.arg })}</main>
  </div>`;
}

render(h(App, {}), document.getElementById('app')!);
