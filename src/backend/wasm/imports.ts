// What the kernels import besides their memory, for the caller's instance (backend.ts) and
// every worker's (worker.ts) alike.
/**
 * env.abort (the AssemblyScript runtime's) and env.waitOn(ptr, expected, timeoutUs): block this
 * thread until the i32 at byte offset ptr is notified or differs from expected, or timeoutUs
 * microseconds passed (< 0: no limit); 1 if it timed out, else 0 (a fused program's barrier,
 * assembly/program.ts). The barrier sleeps through this JavaScript Atomics.wait
 * rather than the wasm memory.atomic.wait32 instruction: with the instruction inside the
 * program loop, Node 20's V8 (11.3) came back from the wait with the loop's locals
 * clobbered (wrong opcodes read, "unreachable" traps, lost barrier arrivals).
 */
export function kernelImports(memory: WebAssembly.Memory): WebAssembly.Imports {
  let view = new Int32Array(memory.buffer);
  return {
    env: {
      memory,
      abort: () => { throw new Error('wasm abort'); },
      waitOn: (ptr: number, expected: number, timeoutUs: number) => {
        // a wasm usize arrives as a signed i32: above 2 GiB (a 7B model's heaps) it is negative
        const at = ptr >>> 0;
        // the memory may have grown since the view was made (the old one stops at its old size)
        if (at + 4 > view.byteLength) view = new Int32Array(memory.buffer);
        return Atomics.wait(view, at >>> 2, expected, timeoutUs < 0 ? Infinity : timeoutUs / 1000) === 'timed-out' ? 1 : 0;
      },
    },
  };
}
