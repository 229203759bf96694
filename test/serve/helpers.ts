// Shared by the serve tests: a model folder for the tiny LM fixture and JSON requests.
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HF = 'test/fixtures/xlstm_large_hf';
const TOK = 'test/fixtures/tokenizer';

/** A folder with the xLSTM Large HF fixture and the test tokenizer (optionally a chat template). */
export function makeLmDir(name: string, opts: { chatTemplate?: string; root?: string } = {}): string {
  const root = opts.root ?? mkdtempSync(join(tmpdir(), 'xlstm-serve-'));
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  copyFileSync(join(HF, 'config.json'), join(d, 'config.json'));
  copyFileSync(join(HF, 'model.safetensors'), join(d, 'model.safetensors'));
  copyFileSync(join(TOK, 'tokenizer.json'), join(d, 'tokenizer.json'));
  const cfg = JSON.parse(readFileSync(join(TOK, 'tokenizer_config.json'), 'utf8'));
  if (opts.chatTemplate !== undefined) cfg.chat_template = opts.chatTemplate;
  writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify(cfg));
  return d;
}

export interface JsonReply { status: number; headers: Headers; body: any; text: string }

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonReply> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.text();
  let parsed: unknown;
  try { parsed = JSON.parse(text); } catch { parsed = undefined; }
  return { status: r.status, headers: r.headers, body: parsed, text };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<JsonReply> {
  const r = await fetch(url, { headers });
  const text = await r.text();
  let parsed: unknown;
  try { parsed = JSON.parse(text); } catch { parsed = undefined; }
  return { status: r.status, headers: r.headers, body: parsed, text };
}

/** The `data:` payloads of a server-sent-event body, in order. */
export function sseData(text: string): string[] {
  return text.split('\n\n').map((b) => b.trim()).filter((b) => b !== '').map((b) => {
    if (!b.startsWith('data: ')) throw new Error(`not an SSE data event: ${b.slice(0, 80)}`);
    return b.slice(6);
  });
}

/** No stack trace or source path in an error body. */
export function assertNoStack(text: string): void {
  if (/\bat .+\(.*:\d+:\d+\)|\.ts:\d+|\.js:\d+|node:internal/.test(text)) throw new Error(`response leaks a stack trace: ${text.slice(0, 300)}`);
}
