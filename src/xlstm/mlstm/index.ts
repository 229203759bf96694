// Public entry of the mLSTM cell (float32, WebAssembly backend).
export * from './mlstm.js';
