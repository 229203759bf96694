// SVG plots: well-formed XML with one panel per series and the expected elements.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plotForecastSvg, plotForecastGridSvg, niceTicks, escapeXml } from '../../src/timeseries/plot.js';

interface XmlNode { name: string; attrs: Record<string, string>; children: XmlNode[]; text: string }

/** Minimal XML parser: tags, attributes, text; throws on mismatched or unclosed tags. */
export function parseXml(src: string): XmlNode {
  const s = src.replace(/^<\?xml[^>]*\?>\s*/, '');
  const root: XmlNode = { name: '#root', attrs: {}, children: [], text: '' };
  const stack = [root];
  const re = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/g;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(s))) {
    if (m.index !== pos) throw new Error(`unparsed text at ${pos}: ${s.slice(pos, pos + 40)}`);
    pos = re.lastIndex;
    if (m[5] !== undefined) { if (/[<>]/.test(m[5])) throw new Error('stray bracket'); stack[stack.length - 1].text += m[5]; continue; }
    const [, close, name, attrText, self] = m;
    if (close) {
      const top = stack.pop()!;
      if (top.name !== name) throw new Error(`</${name}> closes <${top.name}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([\w:.-]+)="([^"]*)"/g)) attrs[a[1]] = a[2];
    const node: XmlNode = { name, attrs, children: [], text: '' };
    stack[stack.length - 1].children.push(node);
    if (!self) stack.push(node);
  }
  if (pos !== s.length) throw new Error(`trailing text at ${pos}`);
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  if (root.children.length !== 1) throw new Error('expected one root element');
  return root.children[0];
}

function all(n: XmlNode, pred: (x: XmlNode) => boolean, out: XmlNode[] = []): XmlNode[] {
  if (pred(n)) out.push(n);
  for (const c of n.children) all(c, pred, out);
  return out;
}
const cls = (c: string) => (x: XmlNode) => x.attrs.class === c;

const series = (id: string, n: number, H: number) => ({
  id,
  history: Array.from({ length: n }, (_, i) => (i === 3 ? NaN : Math.sin(i / 3) * 10 + 50)),
  historyLabels: Array.from({ length: n }, (_, i) => `t${i}`),
  median: Array.from({ length: H }, (_, i) => 50 + i),
  lower: Array.from({ length: H }, (_, i) => 45 + i),
  upper: Array.from({ length: H }, (_, i) => 55 + i),
  bandLabel: '10-90%',
  futureLabels: Array.from({ length: H }, (_, i) => `f${i}`),
});

test('single series: well-formed SVG with history, median, band, ticks and title', () => {
  const svg = plotForecastSvg(series('sales <A&B>', 40, 8));
  const root = parseXml(svg);
  assert.equal(root.name, 'svg');
  assert.equal(root.attrs.xmlns, 'http://www.w3.org/2000/svg');
  const panels = all(root, cls('panel'));
  assert.equal(panels.length, 1);
  assert.equal(panels[0].attrs['data-id'], 'sales &lt;A&amp;B&gt;');
  assert.equal(all(root, cls('title'))[0].text, 'sales &lt;A&amp;B&gt;');
  const hist = all(root, cls('history'))[0].attrs.d;
  // the missing value at index 3 splits the history line in two segments
  assert.equal((hist.match(/M/g) ?? []).length, 2);
  assert.equal((hist.match(/[ML]/g) ?? []).length, 39);
  const med = all(root, cls('median'))[0].attrs.d;
  assert.equal((med.match(/[ML]/g) ?? []).length, 8);
  const band = all(root, cls('band'))[0].attrs.points.split(' ');
  assert.equal(band.length, 16);
  const yt = all(root, cls('ytick')).map((t) => Number(t.text));
  assert.ok(yt.length >= 3 && yt.every(Number.isFinite));
  const xt = all(root, cls('xtick')).map((t) => t.text);
  assert.equal(xt[0], 't0');
  assert.equal(xt[xt.length - 1], 'f7');
});

test('grid: one panel per series, laid out in columns, figure title', () => {
  const svg = plotForecastGridSvg([series('a', 20, 4), series('b', 30, 4), series('c', 10, 4)], { columns: 2, width: 300, height: 200, title: 'T' });
  const root = parseXml(svg);
  assert.deepEqual(all(root, cls('panel')).map((p) => p.attrs['data-id']), ['a', 'b', 'c']);
  assert.deepEqual(all(root, cls('panel')).map((p) => p.attrs.transform), ['translate(0,30)', 'translate(300,30)', 'translate(0,230)']);
  assert.equal(root.attrs.width, '600');
  assert.equal(root.attrs.height, '430');
  assert.equal(all(root, cls('figure-title'))[0].text, 'T');
  assert.throws(() => plotForecastGridSvg([]), /no series/);
});

test('nice ticks and escaping', () => {
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0.13, 0.92, 4), [0.2, 0.4, 0.6, 0.8]);
  assert.deepEqual(niceTicks(5, 5, 2), [4.5, 5, 5.5]);
  assert.equal(escapeXml(`<a href="x">&'`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
});
