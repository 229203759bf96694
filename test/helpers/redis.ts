// A real redis-server (Debian package; .ci/run installs it) for tests: a random loopback
// port, no persistence, stopped by the test. Missing redis-server fails with how to install it.
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface TestRedis { url: string; port: number; process: ChildProcess; stop(): Promise<void> }

/** A loopback port that was free a moment ago (also used for "nothing listens here"). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

/** Starts redis-server on `port` (default: a free one; give the old port to restart "the same" Redis). */
export async function startRedis(port?: number): Promise<TestRedis> {
  const which = spawnSync('sh', ['-c', 'command -v redis-server']);
  if (which.status !== 0) throw new Error('redis-server is not installed: this test needs a real Redis (Debian: apt-get install -y redis-server; .ci/run installs it)');
  port ??= await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`redis-server did not start within 10 s: ${out}`)), 10_000);
    proc.stdout!.on('data', (d) => { out += String(d); if (/Ready to accept connections/.test(out)) { clearTimeout(t); resolve(); } });
    proc.once('exit', (code) => { clearTimeout(t); reject(new Error(`redis-server exited with ${code}: ${out}`)); });
  });
  return {
    url: `redis://127.0.0.1:${port}`, port, process: proc,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await gone;
    },
  };
}
