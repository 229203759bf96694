// Writes a deeper copy of a TiRex model folder whose new blocks start as the identity
// (src/train/growTiRex.ts), to start a larger model's training from a smaller trained one:
//   node scripts/grow-tirex.mjs --from models/default-forecaster --blocks 6 --context 512 --out runs/default-forecaster-v2-init
// Needs the build (dist/).
import { parseArgs } from 'node:util';
import { WasmBackend } from '../dist/src/backend/wasm/backend.js';
import { TiRexTrainable } from '../dist/src/train/tirexTrainable.js';
import { growTiRex } from '../dist/src/train/growTiRex.js';

const { values: a } = parseArgs({ options: { from: { type: 'string' }, blocks: { type: 'string' }, context: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' } } });
for (const k of ['from', 'blocks', 'out']) if (!a[k]) { console.error(`grow-tirex: --${k} is required`); process.exit(2); }
const be = await WasmBackend.create({ threads: 1 });
const src = await TiRexTrainable.fromPretrained(be, a.from);
const grown = growTiRex(be, src, { numBlocks: Number(a.blocks), contextLength: a.context ? Number(a.context) : undefined, seed: a.seed ? Number(a.seed) : 0 });
await grown.save(a.out, { grown_from: a.from, grown_blocks: `${src.hyperParameters.model_config.block_kwargs.num_blocks}->${a.blocks}` });
console.log(`grow-tirex: ${a.from} (${src.numParameters} parameters) -> ${a.out} (${grown.numParameters} parameters, ${a.blocks} blocks, context ${grown.hyperParameters.train_ctx_len})`);
