// Forecasting endpoints.
//
// /forecast/mean and /forecast/quantiles mirror the official TiRex inference server
// (NX-AI/tirex, inference/app/http_server.py and inference/tests/test_http.py): request
// {"context": [[...], ...], "prediction_length": 32 by default}; /forecast/mean answers
// list[list[float]] [series][step], /forecast/quantiles list[list[list[float]]]
// [series][step][9 levels 0.1..0.9]; errors are {"error_code", "error_message"} as the
// official exception handler writes them (with 4xx statuses for client errors here, where
// the official server answers 422/500).
//
// /v1/forecast is this server's own richer API: ids, timestamps and frequency, any quantile
// levels, per-series errors and sessions that send only new observations. With a TiRex-2
// forecaster a series may also carry several named targets and named past / future-known
// covariates (docs/SERVE.md#covariates-tirex-2).
import type { FastifyInstance } from 'fastify';
import { LimitError } from '../errors.js';
import { HttpError } from './httpErrors.js';
import type { ServeContext } from './context.js';
import type { CovariateInput, ForecastInput } from './batcher.js';
import { prepareSeries } from '../cli/commands/forecast.js';
import type { TimeSeries } from '../timeseries/csv.js';
import { checkSessionId, packRecord, unpackRecord } from './sessions.js';

const officialSchema = {
  body: {
    type: 'object',
    required: ['context'],
    properties: {
      context: { type: 'array', items: { type: 'array', items: { type: ['number', 'null'] } } },
      prediction_length: { type: 'integer', minimum: 1, default: 32 },
    },
  },
} as const;

/** {name: values} (TiRex-2 targets and covariates). */
const namedRows = { type: 'object', additionalProperties: { type: 'array', items: { type: ['number', 'null'] } } } as const;

const v1Schema = {
  body: {
    type: 'object',
    required: ['series'],
    additionalProperties: false,
    properties: {
      model: { type: 'string' },
      series: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          properties: {
            id: { type: ['string', 'number'] },
            values: { type: 'array', items: { type: ['number', 'null'] } },
            targets: namedRows,
            past_covariates: namedRows,
            future_covariates: namedRows,
            timestamps: { type: 'array', items: { type: 'string' } },
            frequency: { type: 'string' },
          },
        },
      },
      horizon: { type: 'integer', minimum: 1 },
      prediction_length: { type: 'integer', minimum: 1 },
      quantile_levels: { type: 'array', minItems: 1, items: { type: 'number' } },
      frequency: { type: 'string' },
      raw_quantiles: { type: 'boolean' },
      context_length: { type: 'integer', minimum: 1 },
      session_id: { type: 'string' },
    },
  },
} as const;

export interface OfficialBody { context: (number | null)[][]; prediction_length: number }

export type NamedRows = Record<string, (number | null)[]>;
export interface V1Series {
  id?: string | number;
  /** One target (required unless `targets` is given). */
  values?: (number | null)[];
  /** TiRex-2: several targets by name (instead of `values`). */
  targets?: NamedRows;
  /** TiRex-2: covariates known up to now, each as long as the targets. */
  past_covariates?: NamedRows;
  /** TiRex-2: covariates known also over the horizon, each at least targets + horizon long. */
  future_covariates?: NamedRows;
  timestamps?: string[];
  frequency?: string;
}
export interface V1Body {
  model?: string;
  series: V1Series[];
  horizon?: number;
  prediction_length?: number;
  quantile_levels?: number[];
  frequency?: string;
  raw_quantiles?: boolean;
  context_length?: number;
  session_id?: string;
}

/** A forecast session's record: the tail of every series seen so far (TiRex never reads more). */
interface ForecastSessionHeader {
  kind: 'forecast';
  /** `start`: index of values[0] in the whole history (index timestamps continue from it). */
  series: Record<string, { values: (number | null)[]; timestamps: string[] | null; start: number }>;
}

const toF32 = (values: readonly (number | null)[]): Float32Array => Float32Array.from(values, (v) => (v === null ? NaN : v));
const num = (v: number): number | null => (Number.isNaN(v) ? null : v);

function checkSizes(ctx: ServeContext, series: number, horizon: number, lengths: Iterable<number>): void {
  const L = ctx.limits;
  if (series < 1) throw new HttpError(400, 'no series to forecast: give at least one');
  if (series > L.maxSeries) throw new LimitError('number of series', series, L.maxSeries, 'the server\'s --max-series; split the request');
  if (horizon > L.maxHorizon) throw new LimitError('prediction_length', horizon, L.maxHorizon, 'the server\'s --max-horizon');
  let i = 0;
  for (const n of lengths) {
    if (n > L.maxSeriesLength) throw new LimitError(`length of series ${i}`, n, L.maxSeriesLength, 'the server\'s --max-series-length; the model reads only the last values anyway');
    i++;
  }
}

function requireForecaster(ctx: ServeContext): NonNullable<ServeContext['forecaster']> {
  if (!ctx.forecaster) throw new HttpError(404, 'this server has no forecaster (start it with --forecaster)');
  return ctx.forecaster;
}

/**
 * The official request (already shape-checked) through the batcher: quantiles [series][step]
 * [9 levels] and median [series][step]. Shared by /forecast/* and the MQTT front-end.
 */
export async function forecastOfficial(ctx: ServeContext, body: OfficialBody): Promise<{ quantiles: Float32Array[][]; median: Float32Array[] }> {
  const f = requireForecaster(ctx);
  const H = body.prediction_length;
  checkSizes(ctx, body.context.length, H, body.context.map((s) => s.length));
  const r = await f.batcher.submit({ context: body.context.map(toF32), predictionLength: H });
  // the official server answers all or nothing
  if (r.errors.length > 0) throw new HttpError(400, r.errors.map((e) => e.message).join('; '));
  return r;
}

/** Float32 rows as JSON numbers, NaN as null. */
export const officialJson = {
  mean: (r: { median: Float32Array[] }) => r.median.map((m) => Array.from(m, num)),
  quantiles: (r: { quantiles: Float32Array[][] }) => r.quantiles.map((rows) => rows.map((q) => Array.from(q, num))),
};

export function registerForecastRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const official = (body: OfficialBody) => forecastOfficial(ctx, body);

  app.post<{ Body: OfficialBody }>('/forecast/mean', { schema: officialSchema, config: { errorStyle: 'tirex' } }, async (req) => {
    return officialJson.mean(await official(req.body));
  });

  app.post<{ Body: OfficialBody }>('/forecast/quantiles', { schema: officialSchema, config: { errorStyle: 'tirex' } }, async (req) => {
    return officialJson.quantiles(await official(req.body));
  });

  app.post<{ Body: V1Body }>('/v1/forecast', { schema: v1Schema }, async (req) => forecastV1(ctx, req.body));
}

/**
 * /v1/forecast on a request already shape-checked (by the route's JSON schema, or the MCP
 * tool's input schema): the response object, per-series errors included.
 */
export async function forecastV1(ctx: ServeContext, b: V1Body) {
  const f = requireForecaster(ctx);
  if (b.horizon !== undefined && b.prediction_length !== undefined && b.horizon !== b.prediction_length) {
    throw new HttpError(400, `horizon ${b.horizon} and prediction_length ${b.prediction_length} disagree; give one of them`);
  }
  const H = b.horizon ?? b.prediction_length;
  if (H === undefined) throw new HttpError(400, 'horizon (or prediction_length) is required');
  const ids = b.series.map((s, i) => (s.id === undefined ? String(i) : String(s.id)));
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup !== undefined) throw new HttpError(400, `series id '${dup}' is given twice`);
  const cov = covariateLayout(ctx, b, ids, H);
  // a series' length: its longest row (targets and covariates alike)
  checkSizes(ctx, b.series.length, H, b.series.map((s) => Math.max(s.values?.length ?? 0, ...[s.targets, s.past_covariates, s.future_covariates].flatMap((r) => Object.values(r ?? {}).map((v) => v.length)))));
  b.series.forEach((s, i) => {
    if (s.values !== undefined && s.timestamps !== undefined && s.timestamps.length !== s.values.length) {
      throw new HttpError(400, `series '${ids[i]}': ${s.timestamps.length} timestamps for ${s.values.length} values`);
    }
  });
  const sessionId = b.session_id === undefined ? undefined : checkSessionId(b.session_id);
  // a session keeps each series' tail, so a client sends only the observations that are new
  let past: ForecastSessionHeader['series'] = {};
  if (sessionId !== undefined) {
    const rec = await ctx.sessions.get(`forecast:${sessionId}`);
    ctx.metrics.sessionOps.inc({ op: 'get', result: rec ? 'hit' : 'miss' });
    if (rec) past = (unpackRecord(rec).header as unknown as ForecastSessionHeader).series;
  }
  const merged = b.series.map((s, i) => {
    const p = past[ids[i]];
    // the timestamps and frequency belong to the targets: the first one stands for them
    const own = s.values ?? Object.values(s.targets!)[0];
    const values = p ? [...p.values, ...own] : own;
    let timestamps: string[] | null = s.timestamps ?? null;
    if (p) {
      if ((p.timestamps === null) !== (s.timestamps === undefined)) throw new HttpError(400, `series '${ids[i]}': session '${sessionId}' holds it ${p.timestamps ? 'with' : 'without'} timestamps; send the new values the same way`);
      timestamps = p.timestamps && s.timestamps ? [...p.timestamps, ...s.timestamps] : null;
    }
    return { values, timestamps, start: p?.start ?? 0 };
  });
  const series: TimeSeries[] = merged.map((m, i) => ({ id: ids[i], timestamps: m.timestamps, values: Float64Array.from(m.values, (v) => (v === null ? NaN : v)), start: m.start }));
  const prepared = prepareSeries(series, H);
  prepared.forEach((p, i) => {
    const want = b.series[i].frequency ?? b.frequency;
    if (p.error || want === undefined || p.frequency === null) return;
    if (series[i].timestamps === null) { p.error = `frequency '${want}' given but the series has no timestamps`; return; }
    if (p.frequency.alias !== want) p.error = `frequency '${want}' given, but the timestamps are ${p.frequency.alias}`;
  });
  const okIdx = prepared.map((p, i) => (p.error ? -1 : i)).filter((i) => i >= 0);
  const levels = b.quantile_levels;
  let result: Awaited<ReturnType<typeof f.batcher.submit>> | undefined;
  if (okIdx.length > 0) {
    const cl = b.context_length;
    const context = okIdx.map((i): ForecastInput => {
      const v = prepared[i].values;
      if (cov.has[i]) return covariateInput(b.series[i], cl);
      return Float32Array.from(cl !== undefined && v.length > cl ? v.subarray(v.length - cl) : v);
    });
    result = await f.batcher.submit({ context, predictionLength: H, quantileLevels: levels, rawQuantiles: b.raw_quantiles });
  }
  const outLevels = result ? [...result.quantileLevels] : [...(levels ?? f.quantiles)];
  const errors: { id: string; message: string }[] = [];
  const out = prepared.map((p, i) => {
    if (p.error) { errors.push({ id: p.id, message: p.error }); return { id: p.id, error: p.error }; }
    const j = okIdx.indexOf(i);
    const e = result!.errors.find((x) => x.series === j);
    if (e) {
      const message = e.message.replace(`context[${j}]`, `series '${p.id}'`);
      errors.push({ id: p.id, message });
      return { id: p.id, error: message };
    }
    const rows = result!.quantiles[j];
    const quantilesJson = (qs: Float32Array[]) => Object.fromEntries(outLevels.map((l, k) => [String(l), qs.map((q) => num(q[k]))]));
    const named = b.series[i].targets;
    if (named !== undefined) {
      const per = result!.targets![j]!;
      return {
        id: p.id, frequency: p.frequency?.alias ?? null, timestamps: p.future,
        targets: Object.fromEntries(Object.keys(named).map((name, v) => [name, { mean: Array.from(per[v].median, num), quantiles: quantilesJson(per[v].quantiles) }])),
      };
    }
    return {
      id: p.id,
      frequency: p.frequency?.alias ?? null,
      timestamps: p.future,
      mean: Array.from(result!.median[j], num),
      quantiles: quantilesJson(rows),
    };
  });
  if (sessionId !== undefined) {
    const keep = f.trainCtxLen;
    const next: ForecastSessionHeader['series'] = { ...past };
    merged.forEach((m, i) => {
      const from = Math.max(0, m.values.length - keep);
      next[ids[i]] = { values: m.values.slice(from), timestamps: m.timestamps ? m.timestamps.slice(from) : null, start: m.start + from };
    });
    await ctx.sessions.set(`forecast:${sessionId}`, packRecord({ kind: 'forecast', series: next } satisfies ForecastSessionHeader, new Uint8Array(0)), ctx.sessionTtlMs);
    ctx.metrics.sessionOps.inc({ op: 'set', result: 'ok' });
  }
  return {
    object: 'forecast',
    model: f.name,
    horizon: H,
    quantile_levels: outLevels,
    series: out,
    errors,
    ...(sessionId !== undefined ? { session_id: sessionId } : {}),
  };
}

/**
 * Checks the TiRex-2 fields of a /v1/forecast request (400s name the series and the field);
 * `has[i]`: series i is a CovariateInput (several targets or any covariate).
 */
function covariateLayout(ctx: ServeContext, b: V1Body, ids: readonly string[], H: number): { has: boolean[] } {
  const f = ctx.forecaster!;
  const has = b.series.map((s) => s.targets !== undefined || s.past_covariates !== undefined || s.future_covariates !== undefined);
  b.series.forEach((s, i) => {
    if (s.values === undefined && s.targets === undefined) throw new HttpError(400, `series '${ids[i]}': give values (one target) or targets (several, by name)`);
    if (s.values !== undefined && s.targets !== undefined) throw new HttpError(400, `series '${ids[i]}': give values (one target) or targets (several, by name), not both`);
  });
  if (!has.some(Boolean)) return { has };
  const fields = ['targets', 'past_covariates', 'future_covariates'].filter((k) => b.series.some((s) => s[k as keyof V1Series] !== undefined)).join(' / ');
  if (!f.covariates) throw new HttpError(400, `${fields} need a TiRex-2 forecaster; this server's forecaster '${f.name}' is univariate (TiRex): send values only`);
  if (b.session_id !== undefined) throw new HttpError(400, `session_id does not apply to series with ${fields}: send each series whole`);
  b.series.forEach((s, i) => {
    const where = `series '${ids[i]}'`;
    if (s.targets !== undefined && Object.keys(s.targets).length === 0) throw new HttpError(400, `${where}: targets is empty; give at least one named target`);
    const T = (s.values ?? Object.values(s.targets!)[0]).length;
    const seen = new Map<string, string>();
    for (const [field, rows] of [['targets', s.targets], ['past_covariates', s.past_covariates], ['future_covariates', s.future_covariates]] as const) {
      for (const [name, v] of Object.entries(rows ?? {})) {
        const other = seen.get(name);
        if (other !== undefined) throw new HttpError(400, `${where}: '${name}' is named in ${other} and in ${field}; give each variate once`);
        seen.set(name, field);
        if (field === 'future_covariates') {
          if (v.length < T + H) throw new HttpError(400, `${where}: future covariate '${name}' has ${v.length} values, expected at least ${T + H} (the targets' ${T} plus the horizon ${H})`);
        } else if (v.length !== T) throw new HttpError(400, `${where}: ${field === 'targets' ? 'target' : 'past covariate'} '${name}' has ${v.length} values, expected ${T} (${field === 'targets' ? 'every target as long as the first' : "the targets' length"})`);
      }
    }
    if (s.timestamps !== undefined && s.timestamps.length !== T) throw new HttpError(400, `${where}: ${s.timestamps.length} timestamps for ${T} target values`);
  });
  return { has };
}

/** The rows of a TiRex-2 series, cut to the last `cl` steps of the targets when context_length is given. */
function covariateInput(s: V1Series, cl: number | undefined): CovariateInput {
  const targets = s.values !== undefined ? [s.values] : Object.values(s.targets!);
  const T = targets[0].length, cut = cl !== undefined && T > cl ? T - cl : 0;
  const rows = (r: NamedRows | undefined) => Object.values(r ?? {}).map((v) => toF32(v.slice(cut)));
  return { target: targets.map((v) => toF32(v.slice(cut))), pastCovariates: rows(s.past_covariates), futureCovariates: rows(s.future_covariates) };
}
