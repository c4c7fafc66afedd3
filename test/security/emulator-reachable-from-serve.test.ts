/**
 * The Salesforce emulator mints tokens and answers as any org: code that reaches it
 * from the service could be made to talk to a fake org. The service process must not
 * load it, directly or through anything it imports (statically or with `import()`),
 * and neither must the library users import. (The container image leaves it out
 * altogether: test/dockerfile.integration.test.ts.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SPECIFIERS = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;

/** Every source file reachable from `entry` through relative imports, with the path that first reached it. */
function reachable(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    const text = readFileSync(join(REPO, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|(^|[^:])\/\/.*$/gm, '$1');
    for (const m of text.matchAll(SPECIFIERS)) {
      const target = resolve(dirname(join(REPO, file)), m[2]!.replace(/\.js$/, '.ts'));
      const rel = relative(REPO, existsSync(target) ? target : target.replace(/\.ts$/, '/index.ts'));
      if (seen.has(rel) || !existsSync(join(REPO, rel))) continue;
      seen.set(rel, [...seen.get(file)!, rel]);
      queue.push(rel);
    }
  }
  return seen;
}

function devToolsIn(graph: Map<string, string[]>): string[] {
  return [...graph].filter(([f]) => /^src\/(emulator|demo)\//.test(f)).map(([, path]) => path.join(' → '));
}

describe('the emulator is not reachable from the service', () => {
  it('forcehook serve (src/service/command.ts) imports nothing under src/emulator or src/demo', () => {
    const graph = reachable('src/service/command.ts');
    expect(graph.has('src/service/service.ts'), 'the walk follows imports').toBe(true);
    expect(devToolsIn(graph)).toEqual([]);
  });

  it('nor does the library (src/index.ts)', () => {
    expect(devToolsIn(reachable('src/index.ts'))).toEqual([]);
  });

  it('the walk does see an import of the emulator where there is one', () => {
    expect(devToolsIn(reachable('src/cli/main.ts')).length).toBeGreaterThan(0);
  });
});
