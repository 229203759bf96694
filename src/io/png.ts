// PNG images (ISO/IEC 15948) for the vision commands: a decoder for the non-interlaced and
// Adam7-interlaced 8- and 16-bit images of every colour type (grey, RGB, palette, grey+alpha,
// RGBA; 1/2/4-bit grey and palette too) and an 8-bit grey/RGB encoder (tests, examples).
// Inflate/deflate come from node:zlib, so this file is Node-only (src/io).
import { inflateSync, deflateSync } from 'node:zlib';
import { InputError } from '../errors.js';
import { crc32 } from './zip.js'; // the same IEEE CRC-32 that PNG chunks carry

/** Decoded pixels: 8 bits per sample, `channels` samples per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA), row-major. */
export interface PngImage { width: number; height: number; channels: 1 | 2 | 3 | 4; data: Uint8Array }

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/** Decodes a PNG file's bytes; `source` names the file in errors. */
export function decodePng(bytes: Uint8Array, source = 'PNG'): PngImage {
  const bad = (msg: string): never => { throw new InputError(`${source}: ${msg}`); };
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) bad('not a PNG file (the 8-byte signature is missing)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0, height = 0, depth = 0, colour = -1, interlace = 0;
  let palette: Uint8Array | null = null, trns: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (pos + 8 <= bytes.length) {
    const len = dv.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (pos + 12 + len > bytes.length) bad(`chunk ${type} runs past the end of the file (truncated?)`);
    const body = bytes.subarray(pos + 8, pos + 8 + len);
    if (crc32(bytes.subarray(pos + 4, pos + 8 + len)) !== dv.getUint32(pos + 8 + len)) bad(`chunk ${type} has a wrong CRC (corrupt file)`);
    if (type === 'IHDR') {
      if (len !== 13) bad(`IHDR has ${len} bytes, expected 13`);
      width = dv.getUint32(pos + 8); height = dv.getUint32(pos + 12);
      depth = body[8]; colour = body[9]; interlace = body[12];
      if (!(colour in SAMPLES)) bad(`colour type ${colour} is not valid (0, 2, 3, 4, 6)`);
      if (!DEPTHS[colour].includes(depth)) bad(`bit depth ${depth} is not valid for colour type ${colour}`);
      if (body[10] !== 0 || body[11] !== 0 || interlace > 1) bad('unknown compression, filter or interlace method');
      if (width < 1 || height < 1) bad(`image size ${width}x${height} is empty`);
    } else if (type === 'PLTE') palette = body.slice();
    else if (type === 'tRNS') trns = body.slice();
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') { ended = true; break; }
    pos += 12 + len;
  }
  if (colour < 0) bad('no IHDR chunk');
  if (!idat.length) bad('no image data (IDAT)');
  if (!ended) bad('no IEND chunk (truncated file?)');
  if (colour === 3 && !palette) bad('palette image without a PLTE chunk');
  let raw: Uint8Array;
  try { raw = inflateSync(Buffer.concat(idat)); } catch (e) { return bad(`image data does not inflate: ${(e as Error).message}`); }
  const spp = SAMPLES[colour];
  const bpp = Math.max(1, (spp * depth) >> 3); // filter unit in bytes
  // samples, one per (pixel, channel), still at the file's depth
  const samples = new Uint16Array(width * height * spp);
  let off = 0;
  const passes = interlace
    ? [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]]
    : [[0, 0, 1, 1]];
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((width - x0) / dx), ph = Math.ceil((height - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const stride = Math.ceil((pw * spp * depth) / 8);
    let prev = new Uint8Array(stride);
    for (let r = 0; r < ph; r++) {
      if (off + 1 + stride > raw.length) bad('image data is shorter than the image size needs');
      const ft = raw[off];
      const line = raw.slice(off + 1, off + 1 + stride);
      off += 1 + stride;
      unfilter(ft, line, prev, bpp, bad);
      const y = y0 + r * dy;
      for (let i = 0; i < pw * spp; i++) {
        let v: number;
        if (depth === 8) v = line[i];
        else if (depth === 16) v = (line[2 * i] << 8) | line[2 * i + 1];
        else { const bit = i * depth; v = (line[bit >> 3] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1); }
        const x = x0 + Math.floor(i / spp) * dx;
        samples[(y * width + x) * spp + (i % spp)] = v;
      }
      prev = line;
    }
  }
  // to 8 bits per sample; palettes expand to RGB(A), tRNS to an alpha channel
  const n = width * height;
  if (colour === 3) {
    const hasA = !!trns;
    const out = new Uint8Array(n * (hasA ? 4 : 3));
    for (let p = 0; p < n; p++) {
      const k = samples[p];
      if (3 * k + 2 >= palette!.length) bad(`palette index ${k} is outside the ${palette!.length / 3}-entry palette`);
      const o = p * (hasA ? 4 : 3);
      out[o] = palette![3 * k]; out[o + 1] = palette![3 * k + 1]; out[o + 2] = palette![3 * k + 2];
      if (hasA) out[o + 3] = k < trns!.length ? trns![k] : 255;
    }
    return { width, height, channels: hasA ? 4 : 3, data: out };
  }
  const scale = (v: number) => (depth === 16 ? v >> 8 : depth === 8 ? v : Math.round((v * 255) / ((1 << depth) - 1)));
  const data = new Uint8Array(n * spp);
  for (let i = 0; i < n * spp; i++) data[i] = scale(samples[i]);
  return { width, height, channels: spp as 1 | 2 | 3 | 4, data };
}

function unfilter(ft: number, line: Uint8Array, prev: Uint8Array, bpp: number, bad: (m: string) => never): void {
  for (let i = 0; i < line.length; i++) {
    const a = i >= bpp ? line[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
    switch (ft) {
      case 0: break;
      case 1: line[i] = (line[i] + a) & 255; break;
      case 2: line[i] = (line[i] + b) & 255; break;
      case 3: line[i] = (line[i] + ((a + b) >> 1)) & 255; break;
      case 4: {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        line[i] = (line[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
        break;
      }
      default: bad(`unknown row filter type ${ft}`);
    }
  }
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  dv.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

/** Encodes 8-bit grey (channels 1) or RGB (3) pixels as a PNG (filter 0 rows, zlib default level). */
export function encodePng(img: { width: number; height: number; channels: 1 | 3; data: Uint8Array }): Uint8Array {
  const { width: w, height: h, channels: c } = img;
  if (img.data.length !== w * h * c) throw new InputError(`encodePng: ${w}x${h}x${c} needs ${w * h * c} bytes, got ${img.data.length}`);
  const raw = new Uint8Array(h * (1 + w * c));
  for (let y = 0; y < h; y++) raw.set(img.data.subarray(y * w * c, (y + 1) * w * c), y * (1 + w * c) + 1);
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w); dv.setUint32(4, h);
  ihdr[8] = 8; ihdr[9] = c === 1 ? 0 : 2;
  const parts = [Uint8Array.from(SIGNATURE), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))];
  return Buffer.concat(parts);
}

/**
 * Pixels [C, H, W] in [0, 1] for a model with `channels` inputs: grey or RGB (alpha composited
 * on white), averaged to grey for 1 channel and replicated for 3.
 */
export function pngToPixels(img: PngImage, channels: number): Float32Array {
  const { width: W, height: H } = img, n = W * H;
  const out = new Float32Array(channels * n);
  const hasAlpha = img.channels === 2 || img.channels === 4;
  const colour = img.channels >= 3;
  for (let p = 0; p < n; p++) {
    const base = p * img.channels;
    const a = hasAlpha ? img.data[base + img.channels - 1] / 255 : 1;
    const rgb = colour ? [img.data[base], img.data[base + 1], img.data[base + 2]] : [img.data[base], img.data[base], img.data[base]];
    const v = rgb.map((x) => (x / 255) * a + (1 - a));
    if (channels === 1) out[p] = (v[0] + v[1] + v[2]) / 3;
    else for (let ch = 0; ch < channels; ch++) out[ch * n + p] = v[ch % 3];
  }
  return out;
}
