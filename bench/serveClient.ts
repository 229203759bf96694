// Load generator of bench/serve.ts, run in its own process so that the clients' request
// building and HTTP client work do not share the server's event loop (which would make the
// server look slower and gather fewer requests per forward pass than it does under real load).
// Usage: node dist/bench/serveClient.js <url> <sequentialRequests> <clients> <requestsPerClient>
// Prints one JSON line: {seqRps, conRps, latenciesMs}.

async function postJson(url: string, body: string): Promise<void> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${text.slice(0, 200)}`);
}

async function main(): Promise<void> {
  const [url, seqArg, clientsArg, perArg] = process.argv.slice(2);
  const nSeq = Number(seqArg), clients = Number(clientsArg), perClient = Number(perArg);
  const ctx = (i: number) => Array.from({ length: 512 }, (_, t) => Math.round((Math.sin(t * (0.02 + (i % 50) * 0.003)) * 10 + t * 0.01) * 1000) / 1000);
  // bodies built before the clock starts: the bench measures the server, not JSON.stringify
  const bodies = Array.from({ length: Math.max(nSeq, clients * perClient) }, (_, i) => JSON.stringify({ context: [ctx(i)], prediction_length: 32 }));
  for (let i = 0; i < 3; i++) await postJson(url, bodies[i]);
  let t0 = performance.now();
  for (let i = 0; i < nSeq; i++) await postJson(url, bodies[i]);
  const seqRps = nSeq / ((performance.now() - t0) / 1000);
  const latenciesMs: number[] = [];
  t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let k = 0; k < perClient; k++) {
      const t = performance.now();
      await postJson(url, bodies[c * perClient + k]);
      latenciesMs.push(performance.now() - t);
    }
  }));
  const conRps = (clients * perClient) / ((performance.now() - t0) / 1000);
  process.stdout.write(JSON.stringify({ seqRps, conRps, latenciesMs }) + '\n');
}

main().catch((e) => { process.stderr.write(`${(e as Error).message}\n`); process.exitCode = 1; });
