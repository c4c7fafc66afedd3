/**
 * The shipped dashboard and alert rules (docs/ops/): the rules pass their
 * `promtool test rules` cases, and a real Prometheus scraping a running service
 * knows every metric the dashboard and the rules name, and evaluates every rule
 * without error. Debian's `prometheus` package provides both binaries.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { startTestService, waitUntil, type TestService } from '../../testkit/service.js';

const OPS = fileURLToPath(new URL('../../docs/ops/', import.meta.url));
const RULES = join(OPS, 'alerts.yml');
const DASHBOARD = join(OPS, 'grafana-dashboard.json');

/** Metric names in PromQL expressions: ours carry these prefixes; label names and functions do not. */
function metricNames(exprs: string[]): string[] {
  const names = new Set<string>();
  for (const e of exprs) {
    const outsideQuotes = e.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    for (const m of outsideQuotes.matchAll(/\b(?:forcehook|process|nodejs)_[a-zA-Z0-9_:]+\b|\bup\b(?=\s*\{)/g)) names.add(m[0]);
  }
  return [...names].sort();
}

function dashboardExprs(): string[] {
  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

function ruleExprs(): string[] {
  // The rules file is YAML; its expressions are the `expr:` values (single line or a `|` block).
  const text = readFileSync(RULES, 'utf8');
  const out: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)expr:\s*(.*)$/.exec(lines[i]!);
    if (!m) continue;
    if (m[2] !== '|') {
      out.push(m[2]!);
      continue;
    }
    const block: string[] = [];
    while (i + 1 < lines.length && (lines[i + 1]!.startsWith(`${m[1]}  `) || lines[i + 1]!.trim() === '')) block.push(lines[++i]!);
    out.push(block.join('\n'));
  }
  return out;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('alert rules', () => {
  it('pass their promtool unit tests', () => {
    const check = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const r = spawnSync('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: OPS, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('name the alerts the operations guide promises', () => {
    const alerts = [...readFileSync(RULES, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    expect(alerts).toEqual([
      'ForcehookConnectionNeedsReauth',
      'ForcehookOrgSilent',
      'ForcehookPublishLag',
      'ForcehookDeadLettersGrowing',
      'ForcehookSubscriptionFailing',
      'ForcehookApiBudgetNearLimit',
      'ForcehookEventAllocationExhausted',
      'ForcehookInstanceFenced',
    ]);
  });
});

describe('a real Prometheus scraping a running service', () => {
  let svc: TestService;
  let prom: ChildProcess;
  let promUrl: string;
  let dir: string;
  const promLog: string[] = [];

  const api = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${promUrl}${path}`);
    const body = (await r.json()) as { status: string; data: T };
    if (body.status !== 'success') throw new Error(`${path}: ${JSON.stringify(body)}`);
    return body.data;
  };

  beforeAll(async () => {
    svc = await startTestService({ prefix: uniquePrefix('prometheus') });
    dir = mkdtempSync(join(tmpdir(), 'forcehook-prometheus-'));
    const target = new URL(svc.service.url).host;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: [${JSON.stringify(RULES)}]`,
        'scrape_configs:',
        '  - job_name: forcehook',
        `    static_configs: [{ targets: [${JSON.stringify(target)}] }]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prom.stderr!.on('data', (b: Buffer) => promLog.push(b.toString()));
    await waitUntil(
      async () => {
        const t = await api<{ activeTargets: { health: string }[] }>('/api/v1/targets').catch(() => undefined);
        return t?.activeTargets[0]?.health === 'up';
      },
      60_000,
      'the service scraped',
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${promLog.join('')}`);
    });
  }, 120_000);

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((resolve) => prom.once('exit', resolve));
      prom.kill('SIGTERM');
      await exited;
    }
    await svc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('knows every metric the dashboard and the rules name', async () => {
    const wanted = metricNames([...dashboardExprs(), ...ruleExprs()]);
    expect(wanted.length).toBeGreaterThan(20);
    // Families the scrape declared (# TYPE), whether or not they have a series yet (a labelled counter
    // before its first increment, an org gauge before any org), and the series names stored.
    const metadata = await api<Record<string, { type: string }[]>>('/api/v1/metadata');
    const series = new Set(await api<string[]>('/api/v1/label/__name__/values'));
    const known = (name: string): boolean => {
      if (series.has(name) || name in metadata) return true;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      return base !== name && ['histogram', 'summary'].includes(metadata[base]?.[0]?.type ?? '');
    };
    expect(wanted.filter((n) => !known(n))).toEqual([]);
  });

  it('evaluates every rule without error', async () => {
    type Rules = { groups: { rules: { name: string; health: string; lastError?: string; lastEvaluation: string }[] }[] };
    await waitUntil(
      async () => (await api<Rules>('/api/v1/rules')).groups.flatMap((g) => g.rules).every((r) => !r.lastEvaluation.startsWith('0001')),
      30_000,
      'every rule evaluated',
    );
    const rules = (await api<Rules>('/api/v1/rules')).groups.flatMap((g) => g.rules);
    expect(rules).toHaveLength(8);
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)).toEqual([]);
  });
});
