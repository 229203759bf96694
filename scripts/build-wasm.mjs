// Compiles the AssemblyScript kernels (src/backend/wasm/assembly) to WebAssembly, twice:
// a baseline SIMD build and a relaxed-SIMD build (fused multiply-add). The runtime
// picks the best one the engine validates. Output: dist/wasm/*.wasm (never committed).
import { mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

mkdirSync('dist/wasm', { recursive: true });
const asc = 'node_modules/assemblyscript/bin/asc.js';
const common = [
  'src/backend/wasm/assembly/index.ts',
  '--runtime', 'stub', '-O3', '--noAssert', '--converge',
  '--importMemory', '--sharedMemory', '--initialMemory', '32', '--maximumMemory', '65536',
  '--memoryBase', '65536',
];
const variants = [
  { name: 'kernels-simd', enable: ['simd', 'threads'] },
  { name: 'kernels-relaxed', enable: ['simd', 'threads', 'relaxed-simd'] },
];
for (const v of variants) {
  const args = [asc, ...common, '--enable', v.enable.join(','), '-o', `dist/wasm/${v.name}.wasm`];
  execFileSync(process.execPath, args, { stdio: 'inherit' });
}
console.log('wasm kernels built:', variants.map((v) => v.name).join(', '));
