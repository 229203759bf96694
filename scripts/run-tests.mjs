// Runs every compiled test file (dist/test/**/*.test.js) with node's built-in runner.
// --experimental-wasm-relaxed-simd: Node 20's V8 ships relaxed SIMD behind a flag
// (browsers enable it), so this is how the FMA kernels get tested here; tests that
// force the plain SIMD build ({ relaxedSimd: false }) cover the fallback.
// --expose-gc: lets tests check that heap memory survives collection while in use.
// Node 20's `--test` does not expand globs itself, so we list the files here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = 'dist/test';
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
})(root);
const filter = process.argv.slice(2);
const chosen = filter.length ? files.filter((f) => filter.some((s) => f.includes(s))) : files;
if (chosen.length === 0) {
  console.error(`no test files found under ${root} (did you run npm run build?)`);
  process.exit(1);
}
// Tests never reach the internet: a hub id that is not a local folder would otherwise go to
// huggingface.co. Tests that use the mock hub set HF_ENDPOINT themselves; port 9 (discard)
// on loopback refuses at once.
const env = { ...process.env, HF_ENDPOINT: process.env.XLSTM_TEST_HF_ENDPOINT ?? 'http://127.0.0.1:9' };
const r = spawnSync(process.execPath, ['--expose-gc', '--experimental-wasm-relaxed-simd', '--test', '--test-concurrency=1', ...chosen], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
