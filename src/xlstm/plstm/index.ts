/**
 * pLSTM layers (ml-jku/plstm, torch code at the golden commit) on the autograd tape.
 *
 * pLSTM is a linear RNN over a DAG. Per head, a matrix state (DK x DV, times JT state-tracking
 * channels) flows along the edges of the line graph. At every cell:
 *   - Source S: how much of the cell's key-value outer product k v^T enters each outgoing edge;
 *   - Transition T: how an incoming edge's state carries on to an outgoing edge (JT x JT);
 *   - Mark M: how the incoming states are read out with the query;
 *   - Direct D: the cell's own k v^T read out with the query.
 * 1D (a chain): C_t = T_t C_{t-1} + S_t k_t v_t^T, y_t = DK^-1/2 q_t (M_t C_{t-1} + D_t k_t v_t^T).
 * 2D (a grid, scanned from a corner): R leaves a cell along +x, U along +y:
 *   R = T_rl R_left + T_ru U_up + S_r k v^T,  U = T_du U_up + T_dl R_left + S_d k v^T,
 *   y = DK^-1/2 q (M_l R_left + M_u U_up + D k v^T).
 * P-mode (propagation): one orientation gate o in (0, 1) per head and orientation splits source
 *   and transition: S_r = o S, S_d = 1 - S_r, T_rl = T_ru = o T, T_dl = T_du = 1 - o T, M_l = M_u.
 * D-mode (diffusion): separate gates source_r/source_d, transition_r (T_rl), transition_d (T_du),
 *   transition_rd (T_ru for chirality 'L', T_dl for 'R'), mark_l/mark_u.
 * The non-fused 2D layer averages the normed outputs of its orientation combinations. The official
 * flips quirk is kept: x is flipped if o is odd, y if (o >> 2) is odd, so o = 2, 3 scan like o = 0, 1.
 * The fused layer (the vision model's) sums the four corner scans (q/k/v shared, gate head j drives
 * head j >> 2 in orientation j % 4), adds D k v once, then one norm. Default config: no conv, no passthrough.
 *
 * Usage (official config JSON and state_dict names, e.g. from model.safetensors):
 *   const cfg = plstm2dConfigFromJson(json);                 // or defaultPlstm2dConfig({ inputDim, numHeads, mode: 'P', fused: true })
 *   const p = plstmParamsFromTensors(tape, cfg, tensors, { prefix: 'fused_P.', trainable: true });
 *   // or: plstmParamsFromTensors(tape, cfg, initPlstmParams(cfg, seed), { trainable: true })
 *   const y = plstm2d(tape, x, p, cfg);                      // x [B, X, Y, D] -> y [B, X, Y, D]
 *   const { y, state } = plstm1d(tape, x1, p1, cfg1, { initialState }); // x1 [B, S, D]; state [B*H, DK, DV, JT]
 * Both work on an f32 tape (wasm ops around float64 scans) and on the f64 reference tape; the
 * forms ('recurrent' vs 'chunkwise'/'parallel') give the same values and gradients.
 */
export type {
  PLstmConfig, PLstm1dConfig, PLstm2dConfig, PLstmCommonConfig, PLstmGateConfig, PLstmTransitionConfig, PLstmProjConfig,
  PLstmGateActivation, PLstmEigenvalueRepresentation,
} from './config.js';
export { plstm1dConfigFromJson, plstm2dConfigFromJson, defaultPlstm1dConfig, defaultPlstm2dConfig, checkConfig as checkPlstmConfig } from './config.js';
export type { PLstmParams } from './params.js';
export { plstmParamShapes, plstmParamsFromTensors, initPlstmParams } from './params.js';
export type { Plstm1dOptions, Plstm2dOptions } from './layers.js';
export { plstm1d, plstm2d, orientationFlips } from './layers.js';
export type { Plstm1dForm, Plstm2dForm, Scan1dVars, Scan2dVars } from './tapeOps.js';
export { scan1d, scan2d, headProj, conv2dDepthwise, expSkew, transitionCombine, scaleRows, flip2d } from './tapeOps.js';
export type { Scan2dOrientation } from '../../backend/ref/plstm.js';
