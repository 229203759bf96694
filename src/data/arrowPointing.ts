// The arrow-pointing dataset of the pLSTM paper (ml-jku/arrow_pointing_dataset): a white
// image with one filled black circle and one black arrow; the label says whether the arrow
// points at the circle. The paper trains at one resolution and tests at a larger one with
// objects of the same pixel size (longer distances), which only models that propagate
// information along directions without a fixed range can solve.
//
// Both official variants are reproduced, with NumPy's generator (src/random/pcg64.ts) so that
// a (seed, index) pair gives the official geometry and label:
// - `arrowPointingSample` / `renderArrowPointing` = ArrowPointingDataset[idx]: one generator
//   per sample, integer arrow length/width, image [H, W] (row = y). The official images are
//   rendered by Pillow (ImageDraw.line with a width, ImageDraw.ellipse); Pillow's scan
//   conversion is not reproduced here, the same shapes are rasterised analytically (pixel
//   centres inside the circle / within w/2 of a stroke), so boundary pixels can differ.
// - `arrowPointingBatch` = ArrowPointingDatasetBatched[idx]: one generator per batch,
//   vectorised sampling order, float length/width, the official NumPy rasteriser exactly
//   (images indexed [x, y] as the official arrays).
import { NumpyRng } from '../random/pcg64.js';
import { ConfigError, ArgumentError } from '../errors.js';

/** ArrowPointingConfig (official field names in camelCase; `fromOfficial` reads the snake_case JSON). */
export interface ArrowPointingConfig {
  minDistXFactor: number;
  minDistYFactor: number;
  minRadius: number;
  maxRadius: number;
  /** [size0, size1]: size0 is the official "width" (x range, first array axis of the image), size1 the "height". */
  imageSize: [number, number];
  intersectionFactor: number;
  boundaryPadding: number;
  arrowLengthMin: number;
  arrowLengthMax: number;
  arrowWidthMin: number;
  arrowWidthMax: number;
  intersectionRatio: number;
  nSamples: number;
  seed: number;
}

/** The official defaults (224x224, radius 15..30, padding 30, seed 42). */
export const ARROW_POINTING_DEFAULTS: Readonly<ArrowPointingConfig> = Object.freeze({
  minDistXFactor: 2.0, minDistYFactor: 2.0, minRadius: 15, maxRadius: 30, imageSize: [224, 224] as [number, number],
  intersectionFactor: 1.2, boundaryPadding: 30, arrowLengthMin: 10, arrowLengthMax: 30, arrowWidthMin: 2, arrowWidthMax: 3,
  intersectionRatio: 0.5, nSamples: 50000, seed: 42,
});

const OFFICIAL_KEYS: Record<string, keyof ArrowPointingConfig> = {
  min_dist_x_factor: 'minDistXFactor', min_dist_y_factor: 'minDistYFactor', min_radius: 'minRadius', max_radius: 'maxRadius',
  image_size: 'imageSize', intersection_factor: 'intersectionFactor', boundary_padding: 'boundaryPadding',
  arrow_length_min: 'arrowLengthMin', arrow_length_max: 'arrowLengthMax', arrow_width_min: 'arrowWidthMin',
  arrow_width_max: 'arrowWidthMax', intersection_ratio: 'intersectionRatio', n_samples: 'nSamples', seed: 'seed',
};

/** A config from the official dataclass JSON (snake_case keys; missing keys take the official defaults). */
export function arrowPointingConfigFromOfficial(json: Record<string, unknown>, source = 'ArrowPointingConfig'): ArrowPointingConfig {
  const out: Record<string, unknown> = { ...ARROW_POINTING_DEFAULTS };
  for (const [k, v] of Object.entries(json)) {
    const key = OFFICIAL_KEYS[k];
    if (!key) throw new ConfigError(`${source}: unknown key '${k}' (expected one of ${Object.keys(OFFICIAL_KEYS).join(', ')})`);
    out[key] = v;
  }
  return checkArrowPointingConfig(out as unknown as ArrowPointingConfig, source);
}

/** Partial overrides of the defaults, checked. */
export function arrowPointingConfig(o: Partial<ArrowPointingConfig> = {}, source = 'ArrowPointingConfig'): ArrowPointingConfig {
  for (const k of Object.keys(o)) if (!(k in ARROW_POINTING_DEFAULTS)) throw new ConfigError(`${source}: unknown key '${k}'`);
  return checkArrowPointingConfig({ ...ARROW_POINTING_DEFAULTS, ...o } as ArrowPointingConfig, source);
}

function checkArrowPointingConfig(c: ArrowPointingConfig, source: string): ArrowPointingConfig {
  const num = (k: keyof ArrowPointingConfig, min = -Infinity) => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new ConfigError(`${source}: ${k} must be a finite number >= ${min}, got ${JSON.stringify(v)}`);
  };
  for (const k of ['minDistXFactor', 'minDistYFactor', 'intersectionFactor', 'arrowLengthMin', 'arrowLengthMax', 'arrowWidthMin', 'arrowWidthMax'] as const) num(k, 0);
  num('minRadius', 0); num('maxRadius', 0); num('boundaryPadding', 0); num('intersectionRatio', 0);
  if (!Array.isArray(c.imageSize) || c.imageSize.length !== 2 || c.imageSize.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new ConfigError(`${source}: imageSize must be two positive integers, got ${JSON.stringify(c.imageSize)}`);
  }
  if (!Number.isInteger(c.nSamples) || c.nSamples < 1) throw new ConfigError(`${source}: nSamples must be a positive integer, got ${c.nSamples}`);
  if (!Number.isSafeInteger(c.seed) || c.seed < 0) throw new ConfigError(`${source}: seed must be a non-negative integer, got ${c.seed}`);
  // the circle window must fit next to the arrow (the official code silently draws outside otherwise)
  for (const [ax, f, s] of [[0, c.minDistXFactor, c.imageSize[0]], [1, c.minDistYFactor, c.imageSize[1]]] as const) {
    const span = s - 2 * c.boundaryPadding;
    if (span - 2 * f * c.maxRadius < 0) {
      throw new ConfigError(`${source}: imageSize[${ax}] ${s} minus 2*boundaryPadding (${span}) is smaller than 2*minDistFactor*maxRadius (${2 * f * c.maxRadius}): objects do not fit`);
    }
  }
  return { ...c, imageSize: [c.imageSize[0], c.imageSize[1]] };
}

/** Arrow centre, direction and circle, in official pixel coordinates (x = column, y = row of the PIL image). */
export interface ArrowGeometry { ax: number; ay: number; phi: number; cx: number; cy: number; r: number }

export interface ArrowPointingSample {
  index: number;
  /** 1 iff the arrow points at the circle. */
  label: 0 | 1;
  /** Seed of the sample's generator: default_rng(seed).integers(1 << 62) + index. */
  sampleSeed: bigint;
  arrowLength: number;
  arrowWidth: number;
  geometry: ArrowGeometry;
}

/** CPython's float floor division (float_floor_div), so `al // 2.5` rounds as in the official code. */
export function pyFloorDiv(a: number, b: number): number {
  let mod = a % b;
  let div = (a - mod) / b;
  if (mod && (b < 0) !== (mod < 0)) { mod += b; div -= 1; }
  if (div) { let f = Math.floor(div); if (div - f > 0.5) f += 1; return f; }
  return 0 * (a / b);
}

/** The generator seed of the dataset: default_rng(seed).integers(1 << 62). */
export function arrowPointingBaseSeed(seed: number): bigint {
  return new NumpyRng(seed).integers(1n << 62n);
}

function checkIndex(cfg: ArrowPointingConfig, idx: number, fn: string): void {
  if (!Number.isInteger(idx) || idx < 0 || idx >= cfg.nSamples) throw new ArgumentError(`${fn}: index ${idx} is out of range [0, ${cfg.nSamples}) (nSamples)`);
}

/** Geometry from the official generate_random_positions (x and y window both from sx, as the official code). */
function randomPositions(cfg: ArrowPointingConfig, rng: NumpyRng, intersecting: boolean): ArrowGeometry {
  const p = cfg.boundaryPadding;
  const sx = cfg.imageSize[0] - 2 * p, sy = cfg.imageSize[1] - 2 * p;
  const ax = sx * rng.random(), ay = sx * rng.random();
  const r = cfg.minRadius + (cfg.maxRadius - cfg.minRadius) * rng.random();
  const offX = cfg.minDistXFactor * r;
  let cx = ax + offX + (sx - 2 * offX) * rng.random();
  if (cx > sx) cx -= sx;
  const offY = cfg.minDistYFactor * r;
  let cy = ay + offY + (sy - 2 * offY) * rng.random();
  if (cy > sy) cy -= sy;
  const dx = cx - ax, dy = cy - ay;
  const rd = intersecting ? r / cfg.intersectionFactor : cfg.intersectionFactor * r;
  const d2 = dx * dx + dy * dy;
  const half = Math.acos(Math.sqrt(Math.abs((d2 - rd * rd) / d2)));
  const phi0 = Math.atan2(dy, dx);
  const range = intersecting ? 2 * half : 2 * Math.PI - 2 * half;
  const phi = phi0 + rng.random() * range + (intersecting ? -half : half);
  return { ax: ax + p, ay: ay + p, phi, cx: cx + p, cy: cy + p, r };
}

/** ArrowPointingDataset[idx] without the image: label, arrow size and geometry (bit-identical to the official code). */
export function arrowPointingSample(cfg: ArrowPointingConfig, idx: number, baseSeed = arrowPointingBaseSeed(cfg.seed)): ArrowPointingSample {
  checkIndex(cfg, idx, 'arrowPointingSample');
  const sampleSeed = baseSeed + BigInt(idx);
  const rng = new NumpyRng(sampleSeed);
  const u0 = rng.uniform(0, 1);
  const arrowLength = Math.trunc(rng.uniform(cfg.arrowLengthMin, cfg.arrowLengthMax));
  const arrowWidth = Math.trunc(rng.uniform(cfg.arrowWidthMin, cfg.arrowWidthMax));
  const intersecting = u0 < cfg.intersectionRatio;
  const geometry = randomPositions(cfg, rng, intersecting);
  return { index: idx, label: intersecting ? 1 : 0, sampleSeed, arrowLength, arrowWidth, geometry };
}

/** The three strokes of the official arrow (stem, two head strokes) as segments [x0, y0, x1, y1]. */
export function arrowSegments(g: ArrowGeometry, arrowLength: number): [number, number, number, number][] {
  const half = pyFloorDiv(arrowLength, 2), head = pyFloorDiv(arrowLength, 2.5);
  const c = Math.cos(g.phi), s = Math.sin(g.phi);
  const sx = g.ax - half * c, sy = g.ay - half * s, ex = g.ax + half * c, ey = g.ay + half * s;
  return [
    [sx, sy, ex, ey],
    [ex - head * Math.cos(g.phi - 0.5), ey - head * Math.sin(g.phi - 0.5), ex, ey],
    [ex - head * Math.cos(g.phi + 0.5), ey - head * Math.sin(g.phi + 0.5), ex, ey],
  ];
}

/**
 * Paints black (0) into a white image `img` the circle (pixel centres with (x-cx)^2 + (y-cy)^2 <= r^2)
 * and every stroke (pixel centres within w/2 of the segment, projection in [0, 1]), with the
 * official batched rasteriser's formulas. `at(x, y)` maps a pixel to its array index.
 */
function rasterise(img: Uint8Array, nx: number, ny: number, at: (x: number, y: number) => number,
  g: ArrowGeometry, segs: [number, number, number, number][], width: number): void {
  const r2 = g.r * g.r;
  for (let x = 0; x < nx; x++) for (let y = 0; y < ny; y++) { const ex = x - g.cx, ey = y - g.cy; if (ex * ex + ey * ey <= r2) img[at(x, y)] = 0; }
  for (const [x0, y0, x1, y1] of segs) {
    const dx = x1 - x0, dy = y1 - y0, l2 = dx * dx + dy * dy, len = Math.sqrt(l2);
    for (let x = 0; x < nx; x++) {
      for (let y = 0; y < ny; y++) {
        const dist = Math.abs(dy * (x - x0) - dx * (y - y0)) / len;
        const t = ((x - x0) * dx + (y - y0) * dy) / l2;
        if (dist <= width / 2 && t >= 0 && t <= 1) img[at(x, y)] = 0;
      }
    }
  }
}

/**
 * The image of a sample as uint8 [H, W] = [imageSize[0], imageSize[1]] (row = y, column = x,
 * 255 = white, 0 = black), one channel (the official three are identical).
 */
export function renderArrowPointing(cfg: ArrowPointingConfig, s: ArrowPointingSample): Uint8Array {
  const [H, W] = cfg.imageSize;
  const img = new Uint8Array(H * W).fill(255);
  rasterise(img, W, H, (x, y) => y * W + x, s.geometry, arrowSegments(s.geometry, s.arrowLength), s.arrowWidth);
  return img;
}

export interface ArrowPointingBatch {
  /** uint8 [B, imageSize[0], imageSize[1]] indexed [b, x, y] like the official arrays. */
  images: Uint8Array;
  labels: Uint8Array;
  geometry: ArrowGeometry[];
  arrowLength: Float64Array;
  arrowWidth: Float64Array;
  seed: bigint;
}

/** ArrowPointingDatasetBatched(cfg, batchSize)[idx] (images channel 0), bit-identical sampling and rasterisation. */
export function arrowPointingBatch(cfg: ArrowPointingConfig, batchSize: number, idx: number, baseSeed = arrowPointingBaseSeed(cfg.seed)): ArrowPointingBatch {
  checkIndex(cfg, idx, 'arrowPointingBatch');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ArgumentError(`arrowPointingBatch: batchSize must be a positive integer, got ${batchSize}`);
  const seed = baseSeed + BigInt(idx);
  const rng = new NumpyRng(seed);
  const B = batchSize, p = cfg.boundaryPadding;
  const sx = cfg.imageSize[0] - 2 * p, sy = cfg.imageSize[1] - 2 * p;
  const draw = () => Float64Array.from({ length: B }, () => rng.random());
  const ax = draw().map((u) => sx * u), ay = draw().map((u) => sy * u);
  const r = draw().map((u) => cfg.minRadius + (cfg.maxRadius - cfg.minRadius) * u);
  const uCx = draw(), uCy = draw();
  const cx = new Float64Array(B), cy = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    const ox = cfg.minDistXFactor * r[b];
    cx[b] = ax[b] + ox + (sx - 2 * ox) * uCx[b];
    if (cx[b] > sx) cx[b] -= sx;
    const oy = cfg.minDistYFactor * r[b];
    cy[b] = ay[b] + oy + (sy - 2 * oy) * uCy[b];
    if (cy[b] > sy) cy[b] -= sy;
  }
  const labels = Uint8Array.from(draw(), (u) => (u < cfg.intersectionRatio ? 1 : 0));
  const uPhi = draw();
  const geometry: ArrowGeometry[] = [];
  for (let b = 0; b < B; b++) {
    const dx = cx[b] - ax[b], dy = cy[b] - ay[b], d2 = dx * dx + dy * dy;
    const inter = labels[b] === 1;
    const rd = inter ? r[b] / cfg.intersectionFactor : r[b] * cfg.intersectionFactor;
    const half = Math.acos(Math.sqrt(Math.abs((d2 - rd * rd) / d2)));
    const range = inter ? 2 * half : 2 * Math.PI - 2 * half;
    const phi = Math.atan2(dy, dx) + uPhi[b] * range + (inter ? -half : half);
    geometry.push({ ax: ax[b] + p, ay: ay[b] + p, phi, cx: cx[b] + p, cy: cy[b] + p, r: r[b] });
  }
  const arrowLength = draw().map((u) => cfg.arrowLengthMin + (cfg.arrowLengthMax - cfg.arrowLengthMin) * u);
  const arrowWidth = draw().map((u) => cfg.arrowWidthMin + (cfg.arrowWidthMax - cfg.arrowWidthMin) * u);
  const [n0, n1] = cfg.imageSize;
  const images = new Uint8Array(B * n0 * n1).fill(255);
  for (let b = 0; b < B; b++) {
    const off = b * n0 * n1;
    rasterise(images, n0, n1, (x, y) => off + x * n1 + y, geometry[b], arrowSegments(geometry[b], arrowLength[b]), arrowWidth[b]);
  }
  return { images, labels, geometry, arrowLength, arrowWidth, seed };
}
