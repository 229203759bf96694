// The page side of the text-generation demo. The model folder's files are remembered in
// IndexedDB when they are small enough (so a reload needs no new pick); the conversation
// (transcript, recurrent state bytes, the last generated token) is saved after every turn
// and restored on load, so the model continues without re-reading the history. A model
// from a hub id shows its download progress; its files stay in the Cache API, and the id
// (not the token) is remembered, so a reload loads it again without downloading.
import { HubProgress } from './hubProgress.js';

const $ = (id) => document.getElementById(id);
const DB = 'xlstm-ts-demo', STORE = 'kv';
// Bigger folders (real models are GBs) are picked again after a reload.
const REMEMBER_MODEL_BYTES = 256 * 2 ** 20;

function idb(mode, fn) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => { open.result.close(); resolve(req?.result); };
      tx.onerror = () => reject(tx.error);
    };
  });
}
const dbGet = (key) => idb('readonly', (s) => s.get(key));
const dbPut = (key, value) => idb('readwrite', (s) => s.put(value, key));
const dbDelete = (key) => idb('readwrite', (s) => s.delete(key));

const worker = new Worker(new URL('./generate-worker.js', import.meta.url), { type: 'module' });
let modelName = null;
let conversation = { modelName: null, turns: [], stateBytes: null, lastToken: null };
let pending = null; // resolves on the worker's next non-token reply
const hubProgress = new HubProgress($('hub-progress'), $('hub-bar'));

function setStatus(text, state) { $('status').textContent = text; $('status').dataset.state = state; }
function call(msg, transfer = []) {
  return new Promise((resolve, reject) => { pending = { resolve, reject }; worker.postMessage(msg, transfer); });
}
worker.addEventListener('message', (e) => {
  const m = e.data;
  if (m.type === 'ready') return;
  if (m.type === 'token') { $('transcript').lastChild.textContent += m.text; return; }
  if (m.type === 'download') { hubProgress.update(m.event); return; }
  const p = pending; pending = null;
  if (!p) return;
  if (m.type === 'error') p.reject(new Error(m.message)); else p.resolve(m);
});
worker.addEventListener('error', (e) => setStatus(`the model worker failed: ${e.message || 'could not load (is dist/browser built?)'}`, 'error'));

function renderTranscript() {
  $('transcript').replaceChildren(...conversation.turns.flatMap((t) => [
    Object.assign(document.createElement('span'), { className: 'user', textContent: t.user }),
    Object.assign(document.createElement('span'), { className: 'model', textContent: t.model }),
  ]));
}

async function readFolder(files) {
  const find = (n) => files.find((f) => f.name === n);
  const json = async (n) => (find(n) ? JSON.parse(await find(n).text()) : undefined);
  const sft = find('model.safetensors');
  return {
    name: (files[0]?.webkitRelativePath || 'model').split('/')[0],
    config: await json('config.json'), tokenizer: await json('tokenizer.json'), tokenizerConfig: await json('tokenizer_config.json'),
    safetensors: sft ? await sft.arrayBuffer() : undefined,
  };
}

/** `files`: a folder's contents, or { hub: { id, endpoint, token } }. */
async function loadModel(files, remembered) {
  const hub = files.hub;
  setStatus(`loading ${hub ? hub.id : files.name}...`, 'busy');
  if (hub) hubProgress.reset();
  const m = await call(hub ? { type: 'loadHub', ...hub } : { type: 'load', files });
  modelName = m.name;
  if (!remembered && hub) await dbPut('model', { hub: { id: hub.id, endpoint: hub.endpoint } });
  else if (!remembered && files.safetensors.byteLength <= REMEMBER_MODEL_BYTES) await dbPut('model', files);
  let note = '';
  if (conversation.modelName === modelName && conversation.stateBytes) {
    await call({ type: 'restore', stateBytes: conversation.stateBytes, lastToken: conversation.lastToken });
    note = `; conversation of ${conversation.turns.length} turn(s) restored from its saved state`;
  } else {
    conversation = { modelName, turns: [], stateBytes: null, lastToken: null };
    await dbDelete('conversation');
  }
  renderTranscript();
  const threads = `${m.threads} thread${m.threads > 1 ? 's' : ''}${m.singleThreadReason ? ` (${m.singleThreadReason})` : ''}`;
  setStatus(`${modelName} (${m.modelType}) ready on ${threads}${note}.`, note ? 'restored' : 'loaded');
  $('generate').disabled = false;
}

$('model-folder').addEventListener('change', async () => {
  try { await loadModel(await readFolder([...$('model-folder').files]), false); } catch (e) { setStatus(e.message, 'error'); }
});

$('hub-load').addEventListener('click', async () => {
  const id = $('hub-id').value.trim();
  if (!id) { setStatus('type a model id, e.g. NX-AI/xLSTM-7b (org/name or org/name@revision)', 'error'); return; }
  $('hub-load').disabled = true;
  try { await loadModel({ hub: { id, endpoint: $('hub-endpoint').value.trim(), token: $('hub-token').value.trim() } }, false); } catch (e) { setStatus(e.message, 'error'); } finally { $('hub-load').disabled = false; }
});

$('generate').addEventListener('click', async () => {
  const text = $('prompt').value;
  if (!text) { setStatus('type a prompt first', 'error'); return; }
  $('generate').disabled = true;
  conversation.turns.push({ user: text, model: '' });
  renderTranscript();
  setStatus('generating...', 'busy');
  try {
    const r = await call({ type: 'generate', text, modelName, maxNewTokens: $('max-tokens').value, temperature: $('temperature').value });
    conversation.turns[conversation.turns.length - 1].model = r.text;
    conversation.stateBytes = r.stateBytes;
    conversation.lastToken = r.lastToken;
    await dbPut('conversation', conversation);
    renderTranscript();
    const s = r.stats;
    $('stats').textContent = `prompt ${s.promptTokens} tokens, generated ${s.tokens} tokens, ${s.tokensPerSecond.toFixed(1)} tokens/s, `
      + `G-NLL ${s.gNll === null ? 'n/a' : s.gNll.toFixed(4)}, state ${(r.stateBytes.byteLength / 1024).toFixed(0)} KiB saved`;
    setStatus('done', 'done');
  } catch (e) {
    conversation.turns.pop();
    renderTranscript();
    setStatus(e.message, 'error');
  } finally { $('generate').disabled = false; }
});

$('reset').addEventListener('click', async () => {
  conversation = { modelName, turns: [], stateBytes: null, lastToken: null };
  await dbDelete('conversation');
  if (modelName) await call({ type: 'reset' });
  renderTranscript();
  $('stats').textContent = '';
});

// On load: the saved conversation, and the remembered model if there is one.
(async () => {
  try {
    conversation = (await dbGet('conversation')) ?? conversation;
    renderTranscript();
    const files = await dbGet('model');
    if (files) await loadModel(files, true);
    else if (conversation.turns.length) setStatus(`pick the folder of ${conversation.modelName} to continue the saved conversation`, 'idle');
    if (files?.hub) { $('hub-id').value = files.hub.id; $('hub-endpoint').value = files.hub.endpoint; }
  } catch (e) { setStatus(e.message, 'error'); }
})();
