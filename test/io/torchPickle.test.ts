import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PickleError, unpickle } from '../../src/io/pickle.js';
import { TorchCheckpoint } from '../../src/io/torchCheckpoint.js';
import { PickleBuilder, hex, torchZip } from './torchTestUtil.js';
import { tempDir } from './util.js';

// Sentinels: if any loader ever resolved a global by name and called it, these would fire.
const g = globalThis as Record<string, unknown>;
let sentinelCalls = 0;
const sentinel = () => { sentinelCalls++; return 'pwned'; };
for (const name of ['system', 'eval', 'exec', 'Popen', '__sentinel__']) g[name] = sentinel;
after(() => { for (const name of ['system', 'eval', 'exec', 'Popen', '__sentinel__']) delete g[name]; });

const enc = new TextEncoder();
const P = () => new PickleBuilder().proto(2);

/** name -> [pickle bytes, expected message]. */
const MALICIOUS: Record<string, [Uint8Array, RegExp]> = {
  'os.system via GLOBAL + REDUCE': [
    P().global('os', 'system').str('touch /tmp/pwned').op(0x85).reduce().stop().build(),
    /opcode GLOBAL at byte 2: refused global 'os\.system': not on the allow-list/,
  ],
  'posix.system': [P().global('posix', 'system').str('id').op(0x85).reduce().stop().build(), /refused global 'posix\.system'/],
  'builtins.eval via STACK_GLOBAL': [
    new PickleBuilder().proto(4).op(0x8c, 8, ...enc.encode('builtins'), 0x8c, 4, ...enc.encode('eval'), 0x93)
      .str('__import__("os").system("id")').op(0x85).reduce().stop().build(),
    /opcode STACK_GLOBAL at byte 18: refused global 'builtins\.eval'/,
  ],
  'builtins.exec': [P().global('builtins', 'exec').str('x=1').op(0x85).reduce().stop().build(), /refused global 'builtins\.exec'/],
  'subprocess.Popen': [P().global('subprocess', 'Popen').str('id').op(0x85).reduce().stop().build(), /refused global 'subprocess\.Popen'/],
  'a sentinel global by its JS name': [P().global('builtins', '__sentinel__').emptyTuple().reduce().stop().build(), /refused global 'builtins\.__sentinel__'/],
  'globalThis lookalike': [P().global('globalThis', 'eval').emptyTuple().reduce().stop().build(), /refused global 'globalThis\.eval'/],
  'torch.load inside the pickle': [P().global('torch', 'load').emptyTuple().reduce().stop().build(), /refused global 'torch\.load'/],
  'INST': [P().mark().str('id').op(0x69, ...enc.encode('subprocess\nPopen\n')).stop().build(), /opcode INST at byte \d+: refused/],
  'OBJ': [P().mark().global('os', 'system').str('id').op(0x6f).stop().build(), /refused global 'os\.system'|opcode OBJ/],
  'OBJ with an allowed class': [P().mark().global('collections', 'OrderedDict').op(0x6f).stop().build(), /opcode OBJ at byte \d+: refused/],
  'NEWOBJ': [P().global('collections', 'OrderedDict').emptyTuple().op(0x81).stop().build(), /opcode NEWOBJ at byte \d+: refused/],
  'NEWOBJ_EX': [new PickleBuilder().proto(4).global('collections', 'OrderedDict').emptyTuple().emptyDict().op(0x92).stop().build(), /opcode NEWOBJ_EX/],
  'EXT1': [P().op(0x82, 1).stop().build(), /opcode EXT1 at byte 2: refused/],
  'text PERSID': [P().op(0x50, ...enc.encode('0\n')).stop().build(), /opcode PERSID at byte 2: refused/],
  'REDUCE on a storage class (a value, not a callable)': [P().global('torch', 'FloatStorage').emptyTuple().reduce().stop().build(), /opcode REDUCE .*global torch\.FloatStorage, which is not an allowed callable/],
  'BUILD on a list': [P().op(0x5d).emptyDict().op(0x62).stop().build(), /opcode BUILD .*refused BUILD \(__setstate__\) on list/],
  'truncated pickle': [P().str('abc').build().subarray(0, 7), /opcode BINUNICODE at byte 2: truncated pickle: needs 3 more bytes/],
  'no STOP': [P().none().build(), /truncated pickle: ended without STOP/],
  'unknown opcode': [P().op(0xff).stop().build(), /pickle opcode 0xff at byte 2: unknown opcode/],
  'huge BINUNICODE8 length': [new PickleBuilder().proto(4).op(0x8d, 0, 0, 0, 0, 0, 0, 1, 0).stop().build(), /opcode BINUNICODE8 .*length 281474976710656 exceeds the limit/],
  'undefined memo key': [P().op(0x68, 7).stop().build(), /opcode BINGET at byte 2: memo key 7 is not defined/],
  'stack underflow': [P().op(0x86).stop().build(), /opcode TUPLE2 .*stack underflow/],
  'protocol 6': [new PickleBuilder().proto(6).none().stop().build(), /unsupported pickle protocol 6/],
  'persistent id that is not a storage': [P().str('x').op(0x51).stop().build(), /opcode BINPERSID .*unsupported persistent id/],
  'storage key that escapes data/': [
    P().global('torch._utils', '_rebuild_tensor_v2').mark()
      .tuple((b) => b.str('storage'), (b) => b.global('torch', 'FloatStorage'), (b) => b.str('../../etc/passwd'), (b) => b.str('cpu'), (b) => b.int(1))
      .op(0x51).stop().build(),
    /bad storage key/,
  ],
  '_rebuild_tensor_v2 with junk arguments': [
    P().global('torch._utils', '_rebuild_tensor_v2').tuple((b) => b.str('x'), (b) => b.int(0)).reduce().stop().build(),
    /_rebuild_tensor_v2 expects 6 or 7 arguments, got 2/,
  ],
};

for (const [name, [pkl, re]] of Object.entries(MALICIOUS)) {
  test(`malicious pickle refused, raw and inside a zip: ${name}`, () => {
    // Raw, with no allow-list at all.
    assert.throws(() => unpickle(pkl, { source: 'evil.pkl' }), (e: unknown) => {
      assert.ok(e instanceof PickleError, String(e));
      assert.ok(e.message.startsWith('evil.pkl: pickle'), e.message);
      return true;
    });
    // Inside a torch archive, with the checkpoint loader's allow-list.
    const zip = torchZip(pkl, {});
    assert.throws(() => TorchCheckpoint.fromBytes(zip, { source: 'evil.ckpt' }), (e: unknown) => {
      assert.ok(e instanceof PickleError, String(e));
      assert.ok(e.message.startsWith('evil.ckpt:archive/data.pkl: pickle'), e.message);
      assert.match(e.message, re);
      return true;
    });
    assert.equal(sentinelCalls, 0, 'nothing was called');
  });
}

test('a malicious checkpoint file is refused by open() with the path in the message', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'evil.ckpt');
    await writeFile(path, torchZip(MALICIOUS['os.system via GLOBAL + REDUCE'][0], {}));
    await assert.rejects(TorchCheckpoint.open(path), (e: unknown) => e instanceof PickleError && e.message.startsWith(`${path}:archive/data.pkl: pickle opcode GLOBAL`) && /os\.system/.test(e.message));
  } finally { cleanup(); }
  assert.equal(sentinelCalls, 0);
});

test('dict keys like __proto__ are plain data (no prototype pollution)', () => {
  const pkl = P().emptyDict().str('__proto__').emptyDict().str('polluted').op(0x88).setitem().setitem()
    .str('constructor').str('x').setitem().stop().build();
  const v = unpickle(pkl) as Record<string, any>;
  assert.equal(({} as any).polluted, undefined);
  assert.equal(v['__proto__'].polluted, true);
  assert.equal(v.constructor, 'x');
  assert.equal(Object.getPrototypeOf(v), null);
});

// Made by CPython 3.11: pickle.dumps(obj, protocol=p) with
// obj = {'ints': [0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31, 2**40, -2**53, 2**70, -2**70],
//        'floats': [1.5, -0.0, 1e300], 'none': None, 't': True, 'f': False, 's': 'héllo ✓',
//        'nested': {'tup': (1, 2, 3), 'empty': (), 'one': ('x',), 'four': (1, 2, 3, 4)}, 'shared': None, 'a': l, 'b': l}, l = [1, 2]
const CPYTHON: Record<number, string> = {
  2: '80027d7100285804000000696e747371015d7102284b004b014affffffff4bff4d00014dffff4a000001004a000000808a0500000080008a060000000000018a07000000000000e08a090000000000000000408a090000000000000000c0655806000000666c6f61747371035d710428473ff8000000000000478000000000000000477e37e43c8800759c6558040000006e6f6e6571054e5801000000747106885801000000667107895801000000737108580a00000068c3a96c6c6f20e29c93710958060000006e6573746564710a7d710b285803000000747570710c4b014b024b0387710d5805000000656d707479710e2958030000006f6e65710f58010000007871108571115804000000666f75727112284b014b024b034b0474711375580600000073686172656471144e58010000006171155d7116284b014b026558010000006271176816752e',
  4: '80049502010000000000007d94288c04696e7473945d94284b004b014affffffff4bff4d00014dffff4a000001004a000000808a0500000080008a060000000000018a07000000000000e08a090000000000000000408a090000000000000000c0658c06666c6f617473945d9428473ff8000000000000478000000000000000477e37e43c8800759c658c046e6f6e65944e8c017494888c016694898c0173948c0a68c3a96c6c6f20e29c93948c066e6573746564947d94288c03747570944b014b024b0387948c05656d70747994298c036f6e65948c01789485948c04666f757294284b014b024b034b047494758c06736861726564944e8c0161945d94284b014b02658c0162946816752e',
  5: '80059502010000000000007d94288c04696e7473945d94284b004b014affffffff4bff4d00014dffff4a000001004a000000808a0500000080008a060000000000018a07000000000000e08a090000000000000000408a090000000000000000c0658c06666c6f617473945d9428473ff8000000000000478000000000000000477e37e43c8800759c658c046e6f6e65944e8c017494888c016694898c0173948c0a68c3a96c6c6f20e29c93948c066e6573746564947d94288c03747570944b014b024b0387948c05656d70747994298c036f6e65948c01789485948c04666f757294284b014b024b034b047494758c06736861726564944e8c0161945d94284b014b02658c0162946816752e',
};

for (const [proto, h] of Object.entries(CPYTHON)) {
  test(`CPython protocol ${proto} pickle of plain values decodes exactly`, () => {
    const v = unpickle(hex(h), { source: `p${proto}` }) as Record<string, any>;
    assert.deepEqual(v.ints, [0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31, 2 ** 40, -(2n ** 53n), 2n ** 70n, -(2n ** 70n)]);
    assert.deepEqual(v.floats, [1.5, -0, 1e300]);
    assert.ok(Object.is(v.floats[1], -0));
    assert.equal(v.none, null);
    assert.equal(v.t, true);
    assert.equal(v.f, false);
    assert.equal(v.s, 'héllo ✓');
    assert.deepEqual([...v.nested.tup], [1, 2, 3]);
    assert.deepEqual([...v.nested.empty], []);
    assert.deepEqual([...v.nested.one], ['x']);
    assert.deepEqual([...v.nested.four], [1, 2, 3, 4]);
    assert.equal(v.a, v.b, 'memoised list is shared');
    assert.deepEqual(v.a, [1, 2]);
  });
}

test('bytes: protocol 4 BINBYTES and protocol 2 _codecs.encode (allowed only in checkpoints)', () => {
  const p4 = unpickle(hex('8004950f000000000000007d948c0162944304787900ff94732e')) as Record<string, any>;
  assert.deepEqual(p4.b, new Uint8Array([0x78, 0x79, 0x00, 0xff]));
  const p2 = hex('80027d71005801000000627101635f636f646563730a656e636f64650a71025805000000787900c3bf710358060000006c6174696e317104867105527106732e');
  assert.throws(() => unpickle(p2), /refused global '_codecs\.encode'/);
  const ckpt = TorchCheckpoint.fromBytes(torchZip(p2, {}));
  assert.deepEqual((ckpt.object as any).b, new Uint8Array([0x78, 0x79, 0x00, 0xff]));
});
