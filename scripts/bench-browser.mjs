// `npm run bench:browser`: the browser bench (examples/web/benchCore.js) in headless Chromium
// (a cross-origin isolated page, the model in a Web Worker) beside the same code in Node, on
// this machine and the same thread count; prints a table with Chromium/Node ratios and
// writes bench/results/browser.json. Needs `npm run build` and Debian's chromium.
// Options: --threads N (default: all cores), --quick.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { startDemoServer } from './demo.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const ti = argv.indexOf('--threads');
const threads = ti >= 0 ? Number(argv[ti + 1]) : availableParallelism();
if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads must be a positive integer, got '${argv[ti + 1]}'`);
const quick = argv.includes('--quick');
const exe = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (!existsSync(exe)) throw new Error(`Chromium not found at ${exe}: apt-get install -y chromium (or set CHROMIUM_PATH)`);

const lib = await import(pathToFileURL(join(root, 'dist', 'src', 'browser.js')).href);
const { runBench } = await import(pathToFileURL(join(root, 'examples', 'web', 'benchCore.js')).href);

const node = await runBench(lib, { threads, quick });
const server = await startDemoServer({ port: 0 });
const browser = await chromium.launch({
  executablePath: exe, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let web;
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}examples/web/bench.html`);
  web = await page.evaluate((o) => window.runBench(o), { threads, quick });
  web.userAgent = await page.evaluate(() => navigator.userAgent);
} finally { await browser.close(); await server.close(); }

const rows = node.rows.map((r, i) => ({ name: r.name, unit: r.unit, node: r.value, chromium: web.rows[i].value, ratio: web.rows[i].value / r.value }));
console.log(`threads: Node ${node.threads}, Chromium ${web.threads} (relaxed SIMD: Node ${node.relaxedSimd}, Chromium ${web.relaxedSimd})`);
console.log(['measurement'.padEnd(44), 'Node'.padStart(10), 'Chromium'.padStart(10), 'ratio'.padStart(7), ' unit'].join(''));
for (const r of rows) console.log([r.name.padEnd(44), r.node.toFixed(2).padStart(10), r.chromium.toFixed(2).padStart(10), r.ratio.toFixed(2).padStart(7), ` ${r.unit}`].join(''));
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'browser.json'), JSON.stringify({ date: new Date().toISOString(), threads, quick, node: process.version, chromium: web.userAgent, rows }, null, 2) + '\n');
console.log('wrote bench/results/browser.json');
