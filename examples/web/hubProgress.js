// Download progress of a hub model for the demo pages: the hub's progress events
// (initiate / download / progress / done / ready, one file at a time) summed over the
// model's files into one line with bytes and percent, and a <progress> bar.

const units = ['B', 'KB', 'MB', 'GB'];
export function formatBytes(n) {
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export class HubProgress {
  /** `line`: the element for the text; `bar`: a <progress> element or null. */
  constructor(line, bar) {
    this.line = line;
    this.bar = bar;
    this.reset();
  }

  reset() {
    this.files = new Map(); // file -> { total, loaded, cached }
    this.line.textContent = '';
    delete this.line.dataset.state;
  }

  /** One event from hub.onProgress. */
  update(e) {
    if (e.status === 'initiate') this.files.set(e.file, { total: e.total, loaded: e.cached ? e.total : 0, cached: e.cached });
    else if (e.status === 'progress') Object.assign(this.files.get(e.file) ?? {}, { loaded: e.loaded });
    else if (e.status === 'done') { const f = this.files.get(e.file); if (f) f.loaded = f.total; }
    const fetched = [...this.files.values()].filter((f) => !f.cached);
    const total = fetched.reduce((a, f) => a + f.total, 0), loaded = fetched.reduce((a, f) => a + f.loaded, 0);
    const cached = this.files.size - fetched.length;
    const fromCache = cached ? `${cached} file${cached > 1 ? 's' : ''} from the browser cache` : '';
    if (e.status === 'ready') {
      this.line.textContent = `${e.name}@${e.commit.slice(0, 8)}: ${fetched.length ? `downloaded ${formatBytes(total)} (${fetched.length} file${fetched.length > 1 ? 's' : ''})` : 'nothing downloaded'}${fromCache ? `, ${fromCache}` : ''}.`;
      this.line.dataset.state = 'ready';
      this.line.dataset.downloaded = String(total);
      this.line.dataset.cached = String(cached);
    } else {
      const pct = total ? Math.floor((100 * loaded) / total) : 100;
      this.line.textContent = `downloading ${e.name}: ${formatBytes(loaded)} of ${formatBytes(total)} (${pct}%)${fromCache ? `; ${fromCache}` : ''}`;
      this.line.dataset.state = 'downloading';
    }
    if (this.bar) { this.bar.max = Math.max(1, total); this.bar.value = loaded; }
  }
}
