// The PNG decoder on independently written vectors (test/fixtures/png/vectors.json, made by a
// small Python writer: RGBA with all five row filters, 16-bit grey, 4-bit palette + tRNS,
// Adam7-interlaced RGB, 1-bit grey), the encoder round trip, and corrupt files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../helpers/golden.js';
import { decodePng, encodePng, pngToPixels } from '../../src/io/png.js';
import { InputError } from '../../src/errors.js';

const vectors = JSON.parse(readFileSync(join(FIXTURES, 'png', 'vectors.json'), 'utf8')) as Record<string, { png: string; width: number; height: number; channels: number; data: number[] }>;

for (const [name, v] of Object.entries(vectors)) {
  test(`decodePng: ${name}`, () => {
    const img = decodePng(new Uint8Array(Buffer.from(v.png, 'base64')), name);
    assert.deepEqual([img.width, img.height, img.channels], [v.width, v.height, v.channels]);
    assert.deepEqual(Array.from(img.data), v.data);
  });
}

test('encodePng -> decodePng round trip (grey and RGB), and pixels for 1- and 3-channel models', () => {
  const grey = { width: 5, height: 3, channels: 1 as const, data: Uint8Array.from({ length: 15 }, (_, i) => i * 17) };
  const g = decodePng(encodePng(grey));
  assert.deepEqual([g.width, g.height, g.channels, Array.from(g.data)], [5, 3, 1, Array.from(grey.data)]);
  const rgb = { width: 2, height: 2, channels: 3 as const, data: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 30, 60, 90]) };
  const c = decodePng(encodePng(rgb));
  assert.deepEqual(Array.from(c.data), Array.from(rgb.data));
  const p1 = pngToPixels(c, 1);
  assert.ok(Math.abs(p1[3] - (30 + 60 + 90) / 3 / 255) < 1e-6);
  const p3 = pngToPixels(g, 3);
  assert.equal(p3.length, 45);
  assert.ok(Math.abs(p3[30 + 4] - (4 * 17) / 255) < 1e-6, 'blue channel of pixel 4 = grey value');
  // alpha composites on white
  const ga = decodePng(new Uint8Array(Buffer.from(vectors.palette4_trns.png, 'base64')));
  const px = pngToPixels(ga, 3);
  const k = ga.data.findIndex((_, i) => i % 4 === 3 && ga.data[i] === 128) >> 2;
  assert.ok(k >= 0);
  const n = ga.width * ga.height;
  assert.ok(Math.abs(px[k] - ((ga.data[4 * k] / 255) * (128 / 255) + (1 - 128 / 255))) < 1e-6);
  assert.equal(px.length, 3 * n);
});

test('corrupt PNGs: clear errors naming the file', () => {
  const good = encodePng({ width: 3, height: 3, channels: 1, data: new Uint8Array(9) });
  assert.throws(() => decodePng(new Uint8Array([1, 2, 3]), 'x.png'), (e: Error) => e instanceof InputError && /x\.png: not a PNG/.test(e.message));
  const flipped = good.slice(); flipped[20] ^= 1; // inside IHDR: CRC mismatch
  assert.throws(() => decodePng(flipped, 'y.png'), (e: Error) => e instanceof InputError && /y\.png: chunk IHDR has a wrong CRC/.test(e.message));
  assert.throws(() => decodePng(good.subarray(0, good.length - 14), 'z.png'), (e: Error) => e instanceof InputError && /z\.png/.test(e.message));
});
