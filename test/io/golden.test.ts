// Our readers against the independent golden helper (test/helpers/golden.ts) on
// every safetensors file under test/fixtures, so the fixtures and the reader
// cannot drift apart unnoticed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, readSafetensorsSimple } from '../helpers/golden.js';
import { SafetensorsFile } from '../../src/io/safetensorsFile.js';
import { parseSafetensors, safetensorsDTypeName } from '../../src/io/safetensors.js';

const files = readdirSync(FIXTURES)
  .flatMap((c) => ['io.safetensors', 'model.safetensors'].map((f) => join(FIXTURES, c, f)))
  .filter((p) => existsSync(p));

test('there are golden files to check', () => {
  assert.ok(files.length >= 1, `no safetensors files under ${FIXTURES}`);
});

for (const path of files) {
  test(`reader agrees with readSafetensorsSimple: ${path.slice(FIXTURES.length + 1)}`, async () => {
    const expected = readSafetensorsSimple(path);
    const mem = parseSafetensors(new Uint8Array(readFileSync(path)), { source: path });
    const f = await SafetensorsFile.open(path);
    try {
      assert.deepEqual(new Set(f.names()), new Set(expected.keys()));
      assert.deepEqual(new Set(mem.names()), new Set(expected.keys()));
      for (const [name, g] of expected) {
        const t = await f.read(name);
        assert.equal(safetensorsDTypeName(t.dtype), g.dtype, `${name}: dtype`);
        assert.deepEqual([...t.shape], g.shape, `${name}: shape`);
        const bits = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
        assert.deepEqual(bits(t.data), bits(g.data), `${name}: data`);
        assert.deepEqual(bits(mem.read(name).data), bits(g.data), `${name}: data (in memory)`);
        if (g.dtype === 'F32') {
          const into = new Float32Array(g.data.length);
          await f.readInto(name, into, { dtype: 'f32', expectShape: g.shape, expectDtype: 'f32' });
          assert.deepEqual(bits(into), bits(g.data), `${name}: readInto`);
        }
      }
    } finally {
      await f.close();
    }
  });
}
