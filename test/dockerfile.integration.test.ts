import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTestBrokers, testBrokers, uniquePrefix } from '../testkit/kafka/brokers.js';

/**
 * No Docker engine runs on the project's machines, so the Dockerfile is checked in two ways:
 *
 * 1. Statically: parsed (continuations, comments, exec/shell forms) and held to the rules of
 *    multi-stage, pinned base images (no `latest`), a non-root USER, a HEALTHCHECK,
 *    `forcehook serve` as the command, production dependencies only, every COPY source present.
 * 2. By simulating its stages on this machine: each stage is a temp dir standing for its
 *    WORKDIR; COPY copies from the repository (or from the earlier stage's dir for --from);
 *    ENV is collected; RUN lines run as written, with two exceptions, both for speed and for
 *    the machine's sake: the build stage's full `npm ci` (the same lockfile the suite was
 *    installed from) becomes a symlink to this checkout's node_modules, and `npm cache clean
 *    --force` is skipped (it would empty the shared npm cache). `npm ci --omit=dev` runs for
 *    real (offline from the warm cache), so the runtime tree holds production dependencies
 *    only. Then the image's ENTRYPOINT + CMD run from the runtime dir with the image's ENV,
 *    against the suite's broker, with the shipped workflow enabled (compiled at build: the image has
 *    no TypeScript loader), and the HEALTHCHECK command must exit 0 against it (and 1 once it is
 *    stopped). `forcehook emulator` must not run from the image.
 *
 * Not covered without an engine: the base image itself (glibc, node binary), file ownership
 * under USER node, and the build context (.dockerignore).
 */
const exec = promisify(execFile);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const DOCKERFILE = join(REPO, 'Dockerfile');
const SKIP_SIM = process.env.FORCEHOOK_SKIP_DOCKERFILE_SIM === '1';

interface Instruction {
  cmd: string;
  args: string;
  line: number;
}

interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Dockerfile → instructions: joins `\` continuations, drops comment and blank lines (as BuildKit does). */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (/^\s*#/.test(line) || (buf === '' && line.trim() === '')) return;
    if (buf === '') start = i + 1;
    if (/\\\s*$/.test(line)) {
      buf += line.replace(/\\\s*$/, ' ');
      return;
    }
    buf += line;
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(buf);
    if (m) out.push({ cmd: m[1]!.toUpperCase(), args: m[2]!.trim().replace(/\s+/g, ' '), line: start });
    buf = '';
  });
  return out;
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.cmd === 'FROM') {
      const words = ins.args.split(' ').filter((w) => !w.startsWith('--'));
      stages.push({ image: words[0]!, ...(words[1]?.toUpperCase() === 'AS' ? { name: words[2] } : {}), instructions: [] });
    } else if (ins.cmd !== 'ARG' || stages.length > 0) {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return stages;
}

/** Exec form (JSON array) or shell form → argv. */
function argvOf(args: string): string[] {
  return args.startsWith('[') ? (JSON.parse(args) as string[]) : ['/bin/sh', '-c', args];
}

/** `HEALTHCHECK [--opt=v ...] CMD ...` → its options and command. */
function healthcheckOf(args: string): { options: Record<string, string>; argv: string[] } {
  const options: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([\w-]+)=(\S+)\s+/.exec(rest); m; m = /^--([\w-]+)=(\S+)\s+/.exec(rest)) {
    options[m[1]!] = m[2]!;
    rest = rest.slice(m[0].length);
  }
  const cmd = /^CMD\s+([\s\S]+)$/.exec(rest);
  if (!cmd) throw new Error(`HEALTHCHECK without CMD: ${args}`);
  return { options, argv: argvOf(cmd[1]!) };
}

/** `COPY [--from=x] [--chown=..] src... dest` */
function copyOf(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(' ');
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { ...(from ? { from } : {}), sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

const dockerfile = readFileSync(DOCKERFILE, 'utf8');
const instructions = parseDockerfile(dockerfile);
const stages = stagesOf(instructions);
const runtime = stages.at(-1)!;
const last = (cmd: string) => runtime.instructions.filter((i) => i.cmd === cmd).at(-1);

describe('Dockerfile (static)', () => {
  it('is multi-stage, with pinned base images (no latest, no untagged)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) {
      if (stages.some((o) => o.name === s.image)) continue; // FROM an earlier stage
      expect(s.image, `FROM ${s.image}`).toMatch(/^[\w./-]+:[\w.-]+(@sha256:[0-9a-f]{64})?$/);
      expect(s.image).not.toMatch(/:latest\b/);
    }
  });

  it('runs as a non-root user', () => {
    const user = last('USER');
    expect(user, 'USER in the runtime stage').toBeDefined();
    expect(user!.args.split(':')[0]).not.toMatch(/^(root|0)$/);
  });

  it('has a HEALTHCHECK on /healthz', () => {
    const hc = last('HEALTHCHECK');
    expect(hc).toBeDefined();
    const { argv } = healthcheckOf(hc!.args);
    expect(argv.join(' ')).toContain('/healthz');
  });

  it('starts `forcehook serve`', () => {
    const argv = [...argvOf(last('ENTRYPOINT')?.args ?? '[]'), ...argvOf(last('CMD')?.args ?? '[]')];
    expect(argv).toEqual(['node', 'bin/forcehook.js', 'serve']);
    expect(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).bin.forcehook).toBe('bin/forcehook.js');
  });

  it('ships compiled JavaScript and production dependencies only', () => {
    const runs = runtime.instructions.filter((i) => i.cmd === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /npm ci\b[^&]*--omit=dev/.test(r))).toBe(true);
    expect(runs.join(' ')).not.toMatch(/npm run build|\btsc\b/);
    const copies = runtime.instructions.filter((i) => i.cmd === 'COPY').map((i) => copyOf(i.args));
    expect(copies.some((c) => c.from && c.sources.some((s) => /dist/.test(s)))).toBe(true);
    for (const needed of ['bin', 'config'])
      expect(
        copies.some((c) => !c.from && c.sources.some((src) => src === needed || src.startsWith(`${needed}/`))),
        `COPY ${needed}`,
      ).toBe(true);
    expect(
      copies.some((c) => !c.from && c.sources.includes('src')),
      'no TypeScript sources in the runtime image',
    ).toBe(false);
  });

  it('runs a supported Node LTS (22 or 24)', () => {
    for (const s of stages) {
      if (stages.some((o) => o.name === s.image)) continue;
      expect(s.image, `FROM ${s.image}`).toMatch(/^node:(22|24)([.-]|$)/);
    }
  });

  it('has no TypeScript loader at run time: tsx is a development dependency', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const loader of ['tsx', 'esbuild', 'ts-node']) expect(Object.keys(pkg.dependencies), loader).not.toContain(loader);
    expect(pkg.devDependencies.tsx).toBeDefined();
  });

  it('leaves the Salesforce emulator and the demo out of the runtime image', () => {
    const build = stages.find((s) => runtime.instructions.some((i) => i.cmd === 'COPY' && i.args.includes(`--from=${s.name}`) && i.args.includes('dist')))!;
    const runs = build.instructions
      .filter((i) => i.cmd === 'RUN')
      .map((i) => i.args)
      .join(' && ');
    expect(runs).toMatch(/rm -rf[^&]*\bdist\/emulator\b/);
    expect(runs).toMatch(/rm -rf[^&]*\bdist\/demo\b/);
  });

  it('copies only what exists in the repository, and only named stages', () => {
    const names = new Set(stages.map((s) => s.name));
    for (const s of stages) {
      for (const ins of s.instructions.filter((i) => i.cmd === 'COPY' || i.cmd === 'ADD')) {
        const c = copyOf(ins.args);
        if (c.from) {
          expect(names.has(c.from), `line ${ins.line}: --from=${c.from}`).toBe(true);
          continue;
        }
        for (const src of c.sources) expect(existsSync(join(REPO, src)), `line ${ins.line}: ${src}`).toBe(true);
      }
    }
  });

  it('keeps node_modules and build output out of the build context', () => {
    const ignore = readFileSync(join(REPO, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    expect(ignore).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git']));
  });
});

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolvePort(port));
    });
  });
}

const log = (s: string) => process.stderr.write(`[dockerfile test] ${s}\n`);
const simReason = SKIP_SIM ? 'FORCEHOOK_SKIP_DOCKERFILE_SIM=1' : !hasTestBrokers() ? 'no Kafka broker in this run (FORCEHOOK_TEST_NO_KAFKA=1)' : '';
if (simReason) log(`simulation of the image skipped: ${simReason}`);

describe.skipIf(simReason !== '')('Dockerfile (its stages simulated without an engine)', () => {
  let root = '';
  let servePid: number | undefined;

  afterAll(async () => {
    if (servePid !== undefined) {
      try {
        process.kill(servePid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('builds, installs production deps, serves /healthz; the HEALTHCHECK command passes', { timeout: 300_000 }, async () => {
    const t0 = Date.now();
    root = await mkdtemp(join(tmpdir(), 'forcehook-image-'));
    const stageDirs = new Map<string, string>();
    const stageEnv = new Map<string, Record<string, string>>();

    for (const [i, stage] of stages.entries()) {
      const dir = join(root, stage.name ?? `stage${i}`);
      mkdirSync(dir);
      let workdir = '/';
      const env: Record<string, string> = {};
      // An absolute path of the image (WORKDIR /app) is this stage's dir.
      const host = (p: string, base: string) => join(dir, relative('/', isAbsolute(p) ? p : resolve(workdir, p)), base);
      for (const ins of stage.instructions) {
        if (ins.cmd === 'WORKDIR') {
          workdir = resolve(workdir, ins.args);
          mkdirSync(host(workdir, ''), { recursive: true });
        } else if (ins.cmd === 'ENV') {
          for (const m of ins.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
        } else if (ins.cmd === 'COPY') {
          const c = copyOf(ins.args);
          const fromDir = c.from ? stageDirs.get(c.from)! : REPO;
          for (const src of c.sources) {
            const from = c.from ? join(fromDir, relative('/', src)) : join(REPO, src);
            const to = c.sources.length > 1 || c.dest.endsWith('/') ? host(c.dest, src.split('/').at(-1)!) : host(c.dest, '');
            cpSync(from, to, { recursive: true, filter: (p) => !p.includes('/node_modules/') });
          }
        } else if (ins.cmd === 'RUN') {
          for (const part of ins.args.split(/\s+&&\s+/)) {
            const tPart = Date.now();
            const cwd = host(workdir, '');
            if (/^npm ci\b/.test(part) && !/--omit=dev/.test(part)) {
              // Same lockfile as this checkout's, which the suite was installed from.
              expect(readFileSync(join(cwd, 'package-lock.json'), 'utf8')).toBe(readFileSync(join(REPO, 'package-lock.json'), 'utf8'));
              symlinkSync(join(REPO, 'node_modules'), join(cwd, 'node_modules'), 'dir');
              log(`${stage.name}: '${part}' → symlink to this checkout's node_modules`);
              continue;
            }
            if (/^npm cache clean\b/.test(part)) {
              log(`${stage.name}: '${part}' skipped (the machine's shared npm cache)`);
              continue;
            }
            await exec('/bin/sh', ['-c', part], {
              cwd,
              env: { ...process.env, ...env, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
              timeout: 240_000,
              maxBuffer: 32 << 20,
            });
            log(`${stage.name}: '${part}' ${Date.now() - tPart} ms`);
          }
        }
      }
      stageDirs.set(stage.name ?? `stage${i}`, dir);
      stageEnv.set(stage.name ?? `stage${i}`, env);
    }

    const app = join(stageDirs.get(runtime.name!)!, 'app');
    const imageEnv = stageEnv.get(runtime.name!)!;
    expect(existsSync(join(app, 'dist', 'cli', 'main.js')), 'npm run build produced dist/cli/main.js: the image never runs tsx for itself').toBe(true);
    expect(existsSync(join(app, 'src')), 'no sources in the runtime image').toBe(false);
    expect(existsSync(join(app, 'node_modules', 'typescript')), 'no dev dependencies').toBe(false);
    expect(existsSync(join(app, 'node_modules', 'vitest')), 'no dev dependencies').toBe(false);
    for (const loader of ['tsx', 'esbuild']) expect(existsSync(join(app, 'node_modules', loader)), `no ${loader} in the image`).toBe(false);
    expect(existsSync(join(app, 'dist', 'emulator')), 'no emulator in the image').toBe(false);
    expect(existsSync(join(app, 'config', 'workflows', 'lead-followup.js')), 'the shipped workflow, compiled').toBe(true);
    const emulator = await exec(process.execPath, ['bin/forcehook.js', 'emulator'], { cwd: app }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code?: number; stderr?: string }) => ({ code: err.code ?? -1, stderr: err.stderr ?? '' }),
    );
    expect(emulator).toEqual({ code: 2, stderr: "forcehook: 'emulator' is a development tool and not part of this installation\n" });
    // The example workflow (`import ... from 'forcehook'`), compiled at build, must load in the image too.
    writeFileSync(join(app, 'config', 'local.json'), JSON.stringify({ workflows: ['lead-followup'] }));

    const port = await freePort();
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: root,
      ...imageEnv,
      FORCEHOOK_HTTP_PORT: String(port),
      KAFKA_BROKERS: testBrokers().join(','),
      FORCEHOOK_API_TOKEN: randomBytes(18).toString('base64url'),
      FORCEHOOK_SECRET_KEY: randomBytes(32).toString('base64'),
      FORCEHOOK_TOPIC_PREFIX: uniquePrefix('dockerfile'),
    };
    const [cmd, ...args] = [...argvOf(last('ENTRYPOINT')!.args), ...argvOf(last('CMD')!.args)];
    const bin = cmd === 'node' ? process.execPath : cmd!;
    const child = spawn(bin, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    servePid = child.pid;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const out: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => out.push(l));
    createInterface({ input: child.stderr! }).on('line', (l) => out.push(l));
    const until = Date.now() + 60_000;
    while (!out.some((l) => l.includes('"event":"ready"'))) {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}:\n${out.slice(-30).join('\n')}`);
      if (Date.now() > until) throw new Error(`serve not ready within 60 s:\n${out.slice(-30).join('\n')}`);
      await sleep(100);
    }
    log(`serve ready ${Date.now() - t0} ms after the start of the simulation`);
    expect(out.join('\n')).not.toMatch(/"level":(50|60)/);

    const healthz = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(healthz.status).toBe(200);
    // The console's bundle was built in the build stage and shipped in dist: no build, no network at run time.
    const consolePage = await fetch(`http://127.0.0.1:${port}/console`);
    expect(consolePage.status).toBe(200);
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(await consolePage.text())?.[1];
    expect(script).toBeDefined();
    expect((await fetch(`http://127.0.0.1:${port}${script}`)).status).toBe(200);
    const hc = healthcheckOf(last('HEALTHCHECK')!.args);
    const runHealthcheck = async () => {
      const [hcmd, ...hargs] = hc.argv;
      try {
        await exec(hcmd === 'node' ? process.execPath : hcmd!, hargs, { cwd: app, env, timeout: 10_000 });
        return 0;
      } catch (err) {
        return (err as { code?: number }).code ?? -1;
      }
    };
    expect(await runHealthcheck(), 'HEALTHCHECK command against the running service').toBe(0);
    const readyUntil = Date.now() + 30_000;
    let readyz = 0;
    while (readyz !== 200 && Date.now() < readyUntil) {
      readyz = (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
      if (readyz !== 200) await sleep(250);
    }
    expect(readyz, '/readyz once Kafka answers').toBe(200);

    child.kill('SIGTERM'); // docker stop
    expect(await exited).toBe(0);
    servePid = undefined;
    expect(await runHealthcheck(), 'HEALTHCHECK fails once the service is gone').toBe(1);
    log(`whole simulation ${Date.now() - t0} ms`);
  });
});
