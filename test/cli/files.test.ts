// The files and streams of `xlstm forecast / evaluate / score / generate / convert`, run as a
// child process on dist/src/cli/bin.js: outputs never land on an input, are written whole or
// not at all, failed series keep their rows (exit 3), `| head` ends quietly, delimiters and
// stdin/stdout, gaps and mixed frequencies, invalid UTF-8, and size flags refused up front.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIXTURES } from '../helpers/golden.js';
import { WasmBackend } from '../../src/backend/wasm/backend.js';
import { TiRex } from '../../src/models/tirex/model.js';
import { parseSeriesCsv } from '../../src/timeseries/csv.js';
import { EXIT_ERROR, EXIT_PARTIAL } from '../../src/cli/exitCodes.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');
const MODEL = join(FIXTURES, 'tirex');
const WIDE = join(FIXTURES, 'csv', 'monthly_wide.csv');
const LONG = join(FIXTURES, 'csv', 'long_small.csv');

let dir: string;
let be: WasmBackend;
let model: TiRex;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xlstm-files-'));
  be = await WasmBackend.create({ threads: 1 });
  model = await TiRex.fromPretrained(MODEL, { backend: be });
});
after(() => { model.dispose(); be.dispose(); rmSync(dir, { recursive: true, force: true }); });

function xlstm(args: string[], input?: string | Buffer) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

/** Runs `xlstm ...args | reader` in bash; returns xlstm's exit status, its stderr and what the reader printed. */
function piped(args: string[], reader: string) {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const errFile = join(dir, `stderr-${Math.random().toString(36).slice(2)}.txt`);
  const script = `${q(process.execPath)} ${[BIN, ...args].map(q).join(' ')} 2>${q(errFile)} | ${reader}; echo "status=\${PIPESTATUS[0]}"`;
  const r = spawnSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  const m = /status=(\d+)\n$/.exec(r.stdout);
  assert.ok(m, `no status in ${JSON.stringify(r.stdout)} ${r.stderr}`);
  return { code: Number(m[1]), out: r.stdout.slice(0, m.index), stderr: readFileSync(errFile, 'utf8') };
}

function oneLine(r: { code: number | null; stderr: string }, re: RegExp, code = EXIT_ERROR) {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], re);
}

/** Files in `d` whose name looks like a temporary file (a left-over of a non-atomic write). */
const leftovers = (d: string) => readdirSync(d).filter((n) => n.startsWith('.') || n.endsWith('.tmp'));

test('--output or --plot onto an input or onto each other: refused before the model is read, the input unchanged', () => {
  const input = join(dir, 'in.csv');
  const text = readFileSync(WIDE, 'utf8');
  writeFileSync(input, text);
  const link = join(dir, 'in-link.csv');
  symlinkSync(input, link);
  // a missing --model proves the check comes before any work: its error would come first otherwise
  const noModel = join(dir, 'no-model');
  oneLine(xlstm(['forecast', input, '--model', noModel, '--horizon', '3', '--output', input]), /^xlstm: --output '.*in\.csv' is the same file as input file '.*in\.csv': refusing to overwrite it$/);
  oneLine(xlstm(['forecast', '--input', link, '--model', noModel, '--horizon', '3', '--output', join(dir, '.', 'in.csv')]), /^xlstm: --output '.*in\.csv' is the same file as input file '.*in-link\.csv'/);
  const out = join(dir, 'o.csv');
  writeFileSync(out, 'keep\n');
  symlinkSync(out, join(dir, 'o.svg'));
  oneLine(xlstm(['forecast', input, '--model', noModel, '--horizon', '3', '--output', out, '--plot', join(dir, 'o.svg')]), /^xlstm: --plot '.*o\.svg' is the same file as --output '.*o\.csv': refusing to overwrite it$/);
  assert.equal(readFileSync(out, 'utf8'), 'keep\n');
  const svg = join(dir, 'same.svg');
  symlinkSync(input, svg);
  oneLine(xlstm(['forecast', input, '--model', noModel, '--horizon', '3', '--plot', svg]), /^xlstm: --plot '.*same\.svg' is the same file as input file '.*in\.csv'/);
  oneLine(xlstm(['evaluate', input, '--model', noModel, '--horizon', '3', '--plot', svg]), /^xlstm: --plot '.*same\.svg' is the same file as input file '.*in\.csv'/);
  oneLine(xlstm(['forecast', input, '--model', noModel, '--horizon', '3', '--output', join(dir, 'nofolder', 'o.csv')]), /^xlstm: --output '.*nofolder\/o\.csv': the folder '.*nofolder' does not exist$/);
  assert.equal(readFileSync(input, 'utf8'), text);
});

test('a partly failed forecast keeps the failed rows (CSV: id, empty values), names them on stderr, exit 3; no temp files left', () => {
  const out = join(dir, 'partial', 'out.csv');
  mkdirSync(dirname(out));
  const r = xlstm(['forecast', LONG, '--model', MODEL, '--horizon', '2', '--quantiles', '0.1,0.9', '--output', out, '--threads', '1']);
  assert.equal(r.code, EXIT_PARTIAL, r.stderr);
  assert.equal(r.stderr, "xlstm forecast: skipped series 'lonely': cannot infer the frequency from 1 timestamp(s); need at least 2\n");
  const rows = readFileSync(out, 'utf8').trimEnd().split('\n');
  assert.deepEqual(rows.slice(0, 1), ['id,timestamp,median,0.1,0.9']);
  assert.deepEqual(rows.filter((l) => l.startsWith('lonely')), ['lonely,,,,', 'lonely,,,,']);
  assert.deepEqual(rows.map((l) => l.split(',')[0]), ['id', 'hourly', 'hourly', 'lonely', 'lonely', 'daily', 'daily']);
  // the others have every value
  for (const l of rows.filter((x) => !x.startsWith('lonely')).slice(1)) assert.ok(l.split(',').slice(2).every((v) => Number.isFinite(Number(v)) && v !== ''), l);
  assert.deepEqual(leftovers(dirname(out)), []);
});

test('all series fail: no output file (not even a header), an existing one untouched, exit 1', () => {
  const input = join(dir, 'short.csv');
  writeFileSync(input, 'unique_id,ds,y\na,2024-01-01,1\nb,2024-02-01,2\n');
  const out = join(dir, 'none.csv');
  let r = xlstm(['forecast', input, '--model', MODEL, '--horizon', '2', '--output', out, '--threads', '1']);
  assert.equal(r.code, EXIT_ERROR, r.stderr);
  assert.match(r.stderr, /xlstm: no series could be forecast \(2 skipped\)\n$/);
  assert.equal(existsSync(out), false);
  writeFileSync(out, 'precious\n');
  r = xlstm(['forecast', input, '--model', MODEL, '--horizon', '2', '--output', out, '--threads', '1']);
  assert.equal(r.code, EXIT_ERROR);
  assert.equal(readFileSync(out, 'utf8'), 'precious\n');
  // to stdout: nothing either
  r = xlstm(['forecast', input, '--model', MODEL, '--horizon', '2', '--threads', '1']);
  assert.equal(r.code, EXIT_ERROR);
  assert.equal(r.stdout, '');
});

test('evaluate: a series that cannot be evaluated stays in the JSON with null scores and its error, exit 3', () => {
  const input = join(dir, 'eval.csv');
  const lines = ['unique_id,ds,y'];
  for (let i = 0; i < 30; i++) lines.push(`long,2024-01-${String(i + 1).padStart(2, '0')},${10 + Math.sin(i)}`);
  lines.push('short,2024-01-01,1', 'short,2024-01-02,2');
  writeFileSync(input, lines.join('\n') + '\n');
  const r = xlstm(['evaluate', input, '--model', MODEL, '--horizon', '3', '--json', '--threads', '1']);
  assert.equal(r.code, EXIT_PARTIAL, r.stderr);
  assert.equal(r.stderr, "xlstm evaluate: skipped series 'short': has 2 values, needs more than the horizon 3\n");
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j.series.map((s: { id: string }) => s.id), ['long', 'short']);
  assert.ok(j.series[0].mase > 0);
  assert.deepEqual([j.series[1].mase, j.series[1].wql, j.series[1].error], [null, null, 'has 2 values, needs more than the horizon 3']);
  // the table has its row too, and the reason
  const t = xlstm(['evaluate', input, '--model', MODEL, '--horizon', '3', '--threads', '1']);
  assert.equal(t.code, EXIT_PARTIAL, t.stderr);
  assert.deepEqual(t.stdout.split('\n').filter((l) => /^(long|short) /.test(l)).map((l) => l.trim().split(/\s+/).slice(0, 3)), [['long', '7', j.series[0].mase.toFixed(4)], ['short', '-', '-']]);
  assert.match(t.stdout, /^skipped: series 'short': has 2 values, needs more than the horizon 3$/m);
});

test('forecast | head -1: ends quietly (exit 0, nothing on stderr)', () => {
  // 2 series x 3000 steps x 9 levels: far more than a pipe buffer, so the write meets the closed pipe
  const r = piped(['forecast', WIDE, '--model', MODEL, '--horizon', '3000', '--threads', '1'], 'head -1');
  assert.equal(r.out, 'id,timestamp,median,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9\n');
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
});

test('generate (streaming) and score into a reader that closes at once: exit 0, nothing on stderr', () => {
  const m = join(dir, 'lm');
  mkdirSync(m);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join('test/fixtures/xlstm_large_hf', f), join(m, f));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join('test/fixtures/tokenizer', f), join(m, f));
  const g = piped(['generate', '--model', m, '--prompt', 'hello world', '-n', '40', '--threads', '1'], 'true');
  assert.equal(g.stderr, '');
  assert.equal(g.code, 0);
  const text = join(dir, 'score.txt');
  writeFileSync(text, 'the quick brown fox jumps over the lazy dog\n');
  const s = piped(['score', '--model', m, '--file', text, '--threads', '1'], 'true');
  assert.equal(s.stderr, '');
  assert.equal(s.code, 0);
  // and the same commands with a reader that reads everything do print (the pipe tests are not vacuous)
  const all = piped(['score', '--model', m, '--file', text, '--threads', '1'], 'cat');
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.out, /^tokens: +\d+/);
  // --chunk-size beyond what one forward call can hold: refused after the tokenizer, before the weights
  const big = xlstm(['score', '--model', m, '--file', text, '--chunk-size', '1000000000000']);
  oneLine(big, /^xlstm: --chunk-size 1000000000000 is above the limit \d+ \(the logits of 1000000000000 tokens x \d+ vocabulary entries would need .* GiB of the 2\.0 GiB WebAssembly memory\)$/);
});

test("delimiters (';' and tab detected, --delimiter), '-' for stdin and --output: same numbers as the comma file", () => {
  const comma = xlstm(['forecast', WIDE, '--model', MODEL, '--horizon', '2', '--quantiles', '0.5', '--threads', '1']);
  assert.equal(comma.code, 0, comma.stderr);
  const text = readFileSync(WIDE, 'utf8');
  const semi = join(dir, 'semi.csv');
  writeFileSync(semi, text.replaceAll(',', ';'));
  const tab = join(dir, 'tab.tsv');
  writeFileSync(tab, text.replaceAll(',', '\t'));
  for (const args of [[semi], [tab], [tab, '--delimiter', 'tab'], [semi, '--delimiter', ';']]) {
    const r = xlstm(['forecast', ...args, '--model', MODEL, '--horizon', '2', '--quantiles', '0.5', '--threads', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, comma.stdout, args.join(' '));
  }
  const fromStdin = xlstm(['forecast', '-', '--model', MODEL, '--horizon', '2', '--quantiles', '0.5', '--threads', '1', '--output', '-'], text);
  assert.equal(fromStdin.code, 0, fromStdin.stderr);
  assert.equal(fromStdin.stdout, comma.stdout);
  // a forced delimiter that is not the file's: one column, no series beside the time column
  oneLine(xlstm(['forecast', semi, '--model', MODEL, '--horizon', '2', '--delimiter', ',']), /semi\.csv: wide layout needs at least one series column/);
  oneLine(xlstm(['forecast', semi, '--model', MODEL, '--horizon', '2', '--delimiter', '::']), /^xlstm: --delimiter must be one character .* got '::'$/);
});

test('gaps: the series fails naming the first missing timestamp; --fill nan forecasts with NaN there (= the library on the filled context)', () => {
  const days = Array.from({ length: 40 }, (_, i) => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10));
  const values = days.map((_, i) => 50 + 10 * Math.sin(i / 3));
  const keep = days.map((_, i) => i !== 10 && i !== 11 && i !== 25);
  const input = join(dir, 'gaps.csv');
  writeFileSync(input, 'date,a\n' + days.map((d, i) => (keep[i] ? `${d},${values[i]}\n` : '')).join(''));
  const r = xlstm(['forecast', input, '--model', MODEL, '--horizon', '3', '--threads', '1']);
  assert.equal(r.code, EXIT_ERROR);
  assert.equal(r.stderr, "xlstm forecast: skipped series 'a': timestamp '2024-01-11' is missing (between '2024-01-10' and '2024-01-13'; 3 of 40 steps missing); --fill nan forecasts with the gaps as missing values\n"
    + 'xlstm: no series could be forecast (1 skipped)\n');
  const out = join(dir, 'filled.json');
  const f = xlstm(['forecast', input, '--model', MODEL, '--horizon', '3', '--fill', 'nan', '--output', out, '--threads', '1']);
  assert.equal(f.code, 0, f.stderr);
  const j = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(j.series[0].timestamps, ['2024-02-10', '2024-02-11', '2024-02-12']);
  const ctx = Float32Array.from(values, (v, i) => (keep[i] ? v : NaN));
  const lib = model.forecast([ctx], { predictionLength: 3 });
  assert.equal(lib.errors.length, 0);
  assert.deepEqual(j.series[0].median.map(Math.fround), Array.from(lib.median[0]));
  oneLine(xlstm(['forecast', input, '--model', MODEL, '--horizon', '3', '--fill', 'zero']), /^xlstm: --fill must be 'nan' .* got 'zero'$/);
  // beside a regular series: the gapped one keeps its rows, with its future timestamps (the frequency is known)
  const long = join(dir, 'both-long.csv');
  writeFileSync(long, 'unique_id,ds,y\n' + days.map((d, i) => (keep[i] ? `a,${d},${values[i]}\n` : '')).join('') + days.map((d, i) => `b,${d},${i}\n`).join(''));
  const p = xlstm(['forecast', long, '--model', MODEL, '--horizon', '2', '--quantiles', '0.5', '--threads', '1']);
  assert.equal(p.code, EXIT_PARTIAL, p.stderr);
  assert.match(p.stderr, /^xlstm forecast: skipped series 'a': timestamp '2024-01-11' is missing/);
  const rows = p.stdout.trim().split('\n');
  assert.deepEqual(rows.filter((l) => l.startsWith('a,')), ['a,2024-02-10,,', 'a,2024-02-11,,']);
  assert.deepEqual(rows.filter((l) => l.startsWith('b,')).map((l) => l.split(',').slice(0, 2).join(',')), ['b,2024-02-10', 'b,2024-02-11']);
});

test('mixed frequencies, duplicate column names, duplicate timestamps, invalid UTF-8: one clear line, exit 1', () => {
  const mixed = join(dir, 'mixed.csv');
  writeFileSync(mixed, 'ds,v\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n2024-01-01 02:00,3\n2024-01-01 03:00,4\n2024-01-01 04:00,5\n2024-01-02 04:00,6\n2024-01-03 04:00,7\n2024-01-04 04:00,8\n');
  let r = xlstm(['forecast', mixed, '--model', MODEL, '--horizon', '2']);
  assert.equal(r.code, EXIT_ERROR);
  assert.match(r.stderr, /^xlstm forecast: skipped series 'v': frequencies mixed: mostly 'h' apart, but from '2024-01-01 04:00' on 24 steps of 'h' apart/);
  const dupCol = join(dir, 'dupcol.csv');
  writeFileSync(dupCol, 'date,a,b,a\n2024-01-01,1,2,3\n2024-01-02,1,2,3\n');
  oneLine(xlstm(['forecast', dupCol, '--model', MODEL, '--horizon', '2']), /^xlstm: .*dupcol\.csv: line 1: column name 'a' appears twice \(columns 2 and 4\)$/);
  const dupTime = join(dir, 'duptime.csv');
  writeFileSync(dupTime, 'date,a\n2024-01-01,1\n2024-01-02,2\n2024-01-02,3\n');
  oneLine(xlstm(['forecast', dupTime, '--model', MODEL, '--horizon', '2']), /^xlstm: .*duptime\.csv: line 4: timestamp '2024-01-02' appears twice \(also line 3\)$/);
  const latin1 = join(dir, 'latin1.csv');
  writeFileSync(latin1, Buffer.concat([Buffer.from('date,caf'), Buffer.from([0xe9]), Buffer.from('\n2024-01-01,1\n')]));
  oneLine(xlstm(['forecast', latin1, '--model', MODEL, '--horizon', '2']), /^xlstm: .*latin1\.csv: not valid UTF-8 at byte offset 8 \(bytes e9 0a 32 30\); save the file as UTF-8$/);
  const text = join(dir, 'bad.txt');
  writeFileSync(text, Buffer.from([0x68, 0x69, 0x20, 0xf0, 0x9f, 0x98, 0x20, 0x21]));
  // score checks the text before it opens the model
  oneLine(xlstm(['score', '--model', join(dir, 'no-model'), '--file', text]), /^xlstm: --file '.*bad\.txt': not valid UTF-8 at byte offset 3 \(bytes f0 9f 98 20\); save the file as UTF-8$/);
});

test('size flags beyond what memory allows: one line naming the flag, the value and the limit, exit 1, fast', () => {
  let r = xlstm(['forecast', WIDE, '--horizon', '1000000000']);
  oneLine(r, /^xlstm: --horizon 1000000000 is above the limit \d+ \(.*\)$/);
  assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  r = xlstm(['evaluate', WIDE, '--horizon', '1000000000']);
  oneLine(r, /^xlstm: --horizon 1000000000 is above the limit \d+/);
  // a horizon within the limit passes the check (and then fails on the missing model)
  oneLine(xlstm(['forecast', WIDE, '--model', join(dir, 'no-model'), '--horizon', '100000']), /^xlstm: --model '.*no-model'/);
  r = xlstm(['generate', '--model', join(dir, 'no-model'), '--prompt', 'x', '--max-new-tokens', '1000000000000']);
  oneLine(r, /^xlstm: --max-new-tokens 1000000000000 is above the limit \d+ \(256 bytes per generated token would need .*\)$/);
});

test('convert tirex: writes through a temporary folder (none left), refuses to write onto its --ckpt, a failed run leaves no folder', () => {
  const ck = join(dir, 'ck');
  mkdirSync(ck);
  // a checkpoint named like an output file of the folder it is converted into
  copyFileSync(join(FIXTURES, 'tirex', 'model.ckpt'), join(ck, 'model.safetensors'));
  const before = readFileSync(join(ck, 'model.safetensors'));
  oneLine(xlstm(['convert', 'tirex', '--ckpt', join(ck, 'model.safetensors'), '--out', ck, '--overwrite']), /^xlstm: convert tirex: --out '.*ck' would write model\.safetensors onto the --ckpt file '.*ck\/model\.safetensors'$/);
  assert.deepEqual(readFileSync(join(ck, 'model.safetensors')), before);
  const out = join(dir, 'conv', 'deep');
  const r = xlstm(['convert', 'tirex', '--ckpt', join(FIXTURES, 'tirex', 'model.ckpt'), '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(out).sort(), ['config.json', 'model.safetensors']);
  assert.deepEqual(readdirSync(join(dir, 'conv')), ['deep']);
  // a file that is not a checkpoint: error, and neither the output folder nor a temporary one
  const bad = join(dir, 'bad.ckpt');
  writeFileSync(bad, 'not a zip');
  const r2 = xlstm(['convert', 'tirex', '--ckpt', bad, '--out', join(dir, 'conv2')]);
  assert.equal(r2.code, EXIT_ERROR);
  assert.match(r2.stderr, /^xlstm: convert tirex --ckpt '.*bad\.ckpt': /);
  assert.equal(existsSync(join(dir, 'conv2')), false);
  assert.deepEqual(leftovers(dir).filter((n) => n.includes('convert')), []);
  // the converted folder forecasts (the renamed files are complete)
  const f = xlstm(['forecast', WIDE, '--model', out, '--horizon', '2', '--quantiles', '0.5', '--threads', '1']);
  assert.equal(f.code, 0, f.stderr);
  const lib = model.forecast(parseSeriesCsv(readFileSync(WIDE, 'utf8')).series.map((s) => Float32Array.from(s.values)), { predictionLength: 2, quantileLevels: [0.5] });
  assert.equal(Math.fround(Number(f.stdout.split('\n')[1].split(',')[2])), lib.median[0][0]);
});
