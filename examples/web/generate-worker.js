// The model side of generate.html, in a module Web Worker (the thread pool may block here).
// It holds the model, the tokenizer and the conversation's recurrent state; the page keeps
// the state bytes in IndexedDB. Messages in:
//   { type: 'load', files: { name, config, tokenizer, tokenizerConfig, safetensors } }
//   { type: 'loadHub', id, endpoint, token }            a hub model id (files cached in the Cache API)
//   { type: 'restore', stateBytes, lastToken }          continue a saved conversation
//   { type: 'generate', text, maxNewTokens, temperature }
//   { type: 'reset' }                                    forget the conversation
// Out: 'loaded', 'download' { event } (hub progress events), 'restored', 'token' { text }, 'done' { stats, stateBytes, lastToken }, 'error' { message }.
import { WasmBackend, XLSTMLarge, Tokenizer, parseSafetensors, parseModelId, fetchModelFilesBrowser, streamGenerate, saveState, loadState, disposeState } from '../../dist/browser/xlstm.js';

const backendReady = WasmBackend.create();
let model = null, tokenizer = null;
// The conversation: the state after every token but the last generated one, which the
// next turn feeds first (as generate() leaves it).
let state = null, lastToken = null;

async function load(files) {
  const backend = await backendReady;
  if (!files.config || !files.safetensors) throw new Error('the folder needs config.json and model.safetensors (one file; sharded checkpoints: Node only)');
  if (!files.tokenizer) throw new Error('the folder needs tokenizer.json');
  model?.dispose();
  reset();
  tokenizer = Tokenizer.fromJSON(files.tokenizer, files.tokenizerConfig);
  model = await XLSTMLarge.fromSource(parseSafetensors(new Uint8Array(files.safetensors), { source: `${files.name}/model.safetensors` }), files.config, { backend });
  return { type: 'loaded', name: files.name, modelType: model.modelType, threads: backend.threads, singleThreadReason: backend.features.singleThreadReason ?? null };
}

async function loadHub(m) {
  const backend = await backendReady;
  const id = parseModelId(m.id);
  if (!id) throw new Error(`'${m.id}' is not a hub model id (org/name or org/name@revision)`);
  const hub = { endpoint: m.endpoint || undefined, token: m.token || undefined };
  // config and tokenizer first: a repository without tokenizer.json fails before any weights move
  const small = await fetchModelFilesBrowser(id.repo, 'language-model-config', { ...hub, revision: id.revision });
  if (!small.files.includes('tokenizer.json')) throw new Error(`${m.id} has no tokenizer.json, which text generation needs`);
  const json = (f) => small.read(f).then((b) => JSON.parse(new TextDecoder().decode(b)));
  const tk = Tokenizer.fromJSON(await json('tokenizer.json'), small.files.includes('tokenizer_config.json') ? await json('tokenizer_config.json') : undefined);
  model?.dispose();
  model = null;
  reset();
  // pinned to the commit just resolved, so config, tokenizer and weights are of one revision
  model = await XLSTMLarge.fromPretrained(`${id.repo}@${small.commit}`, { backend, hub: { ...hub, onProgress: (event) => self.postMessage({ type: 'download', event }) } });
  tokenizer = tk;
  return { type: 'loaded', name: m.id, modelType: model.modelType, threads: backend.threads, singleThreadReason: backend.features.singleThreadReason ?? null };
}

function reset() {
  if (state) disposeState(state);
  state = null; lastToken = null;
}

async function generateTurn(msg) {
  if (!model) throw new Error('load a model folder first');
  const maxNewTokens = Number(msg.maxNewTokens), temperature = Number(msg.temperature);
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new Error(`max new tokens must be a positive whole number, got '${msg.maxNewTokens}'`);
  if (!(temperature >= 0)) throw new Error(`temperature must be >= 0, got '${msg.temperature}'`);
  // Only the new text is encoded: the history lives in the state.
  const ids = state ? [lastToken, ...tokenizer.encode(msg.text, { addBos: false })] : tokenizer.encode(msg.text);
  const t0 = performance.now();
  const it = streamGenerate(model, [ids], {
    tokenizer, maxNewTokens, returnState: true, gNll: true, ...(state ? { state } : {}), ...(temperature > 0 ? { temperature } : {}),
  });
  let r;
  for (;;) {
    const step = await it.next();
    if (step.done) { r = step.value; break; }
    if (step.value.text) self.postMessage({ type: 'token', text: step.value.text });
  }
  const seconds = (performance.now() - t0) / 1000;
  const seq = r.sequences[0];
  if (state) disposeState(state);
  state = r.state;
  lastToken = seq.tokens[seq.tokens.length - 1];
  const stateBytes = saveState(model, state, { metadata: { model: msg.modelName ?? '' } });
  return {
    type: 'done', text: seq.text, stateBytes, lastToken,
    stats: { promptTokens: ids.length, tokens: seq.tokens.length, tokensPerSecond: seq.tokens.length / seconds, gNll: seq.gNll ?? null, nll: seq.nll },
  };
}

self.addEventListener('message', async (e) => {
  const m = e.data;
  try {
    if (m.type === 'load') self.postMessage(await load(m.files));
    else if (m.type === 'loadHub') self.postMessage(await loadHub(m));
    else if (m.type === 'restore') {
      if (!model) throw new Error('load a model folder first');
      reset();
      state = loadState(model, new Uint8Array(m.stateBytes));
      lastToken = m.lastToken;
      self.postMessage({ type: 'restored' });
    } else if (m.type === 'generate') {
      const out = await generateTurn(m);
      self.postMessage(out, [out.stateBytes.buffer]);
    } else if (m.type === 'reset') { reset(); self.postMessage({ type: 'reset' }); }
  } catch (err) {
    self.postMessage({ type: 'error', message: err?.message ?? String(err) });
  }
});
self.postMessage({ type: 'ready' });
