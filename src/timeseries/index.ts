// Time-series data, frequency, metrics and plots (browser-safe: no file system access).
export * from './csv.js';
export * from './frequency.js';
export * from './metrics.js';
export * from './plot.js';
export * from './covariateCsv.js';
