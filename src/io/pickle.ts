// A small, safe pickle interpreter: enough of protocols 2..5 for torch.save
// checkpoints (dicts, lists, tuples, numbers, strings, tensors). Pure data: it
// never runs code. Every GLOBAL / STACK_GLOBAL is resolved through the caller's
// allow-list (`findClass`); anything not on it, and the opcodes that instantiate
// arbitrary classes (INST, OBJ, NEWOBJ, NEWOBJ_EX, EXT*), are refused with an
// error that names the opcode or global, its byte offset and the source.
//
// Python -> JS: None -> null, bool -> boolean, int -> number (bigint past 2^53),
// float -> number, str -> string, bytes -> Uint8Array, list -> array, tuple ->
// frozen array, dict -> null-prototype object (keys as strings: int/float keys via
// JS String(), bool/None as 'True'/'False'/'None'; tuple keys are refused). Integer-like string keys are
// ordered first by JS object semantics; state_dict keys never are integer-like.

import { XlstmError } from '../errors.js';

/** A value produced by the unpickler (allowed callables may add their own types, e.g. tensor handles). */
export type PickleValue =
  | null | boolean | number | bigint | string | Uint8Array
  | readonly PickleValue[] | PickleDict | PickleGlobal | object;

export interface PickleDict { [key: string]: PickleValue }

/** An allow-listed global; `call` implements REDUCE on it (BUILD goes through UnpickleOptions.build). */
export interface PickleCallable {
  readonly module: string;
  readonly name: string;
  call(args: readonly PickleValue[], ctx: PickleContext): PickleValue;
}

/** A resolved global as it sits on the stack before REDUCE (also a valid value, e.g. a storage type in a persistent id). */
export class PickleGlobal {
  constructor(readonly module: string, readonly name: string, readonly impl?: PickleCallable) {}
  toString(): string { return `${this.module}.${this.name}`; }
}

/** Passed to callables and persistent-id loaders so they can raise errors with the right context. */
export interface PickleContext {
  /** Throws a PickleError at the current opcode. */
  fail(message: string): never;
}

export interface UnpickleOptions {
  /** Names the input in errors (file and member, e.g. 'model.ckpt:archive/data.pkl'). */
  source?: string;
  /**
   * The allow-list: returns the implementation of module.name, or undefined to
   * refuse it. Without it every global is refused.
   */
  findClass?: (module: string, name: string) => PickleCallable | PickleGlobal | undefined;
  /** Handles BINPERSID; without it persistent ids are refused. */
  persistentLoad?: (pid: PickleValue, ctx: PickleContext) => PickleValue;
  /** BUILD (obj.__setstate__(state)) on a value: return true if handled. Without it (or on false) BUILD is refused. */
  build?: (obj: PickleValue, state: PickleValue, ctx: PickleContext) => boolean;
  /** Refuse longer strings/bytes (default 1 GiB) so a corrupt length cannot exhaust memory. */
  maxStringBytes?: number;
}

export class PickleError extends XlstmError {
  readonly source: string;
  readonly offset: number;
  readonly opcode?: string;
  constructor(source: string, offset: number, message: string, opcode?: string) {
    super(`${source}: pickle${opcode ? ` opcode ${opcode}` : ''} at byte ${offset}: ${message}`);
    this.name = 'PickleError';
    this.source = source;
    this.offset = offset;
    this.opcode = opcode;
  }
}

/** Opcode names for messages (all of pickle's, so refused ones are named too). */
const OPNAMES: Readonly<Record<number, string>> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3',
  0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/** Opcodes that create instances of arbitrary classes or use registries we do not have: always refused. */
const REFUSED = new Set([0x69 /* INST */, 0x6f /* OBJ */, 0x81 /* NEWOBJ */, 0x92 /* NEWOBJ_EX */, 0x82, 0x83, 0x84 /* EXT */, 0x50 /* PERSID */,
  0x97, 0x98 /* out-of-band buffers */]);

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

function isDict(v: unknown): v is PickleDict {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === null;
}

/** A fresh dict value (null prototype: keys such as '__proto__' are plain data). */
export function newDict(): PickleDict { return Object.create(null) as PickleDict; }

/** Whether a value is a dict produced by the unpickler. */
export function isPickleDict(v: unknown): v is PickleDict { return isDict(v); }

/**
 * Unpickles `bytes`. Pure: builds data only, calling nothing but the
 * allow-listed callables the caller supplies.
 */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions = {}): PickleValue {
  const source = opts.source ?? '<memory>';
  const maxStr = opts.maxStringBytes ?? 1024 * 1024 * 1024;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: PickleValue[] = [];
  // Stack heights at each MARK (marks are not stack values, so nothing can capture one).
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;
  let opStart = 0;
  let op = 0;
  const opName = (): string => OPNAMES[op] ?? `0x${op.toString(16).padStart(2, '0')}`;
  const fail = (message: string): never => { throw new PickleError(source, opStart, message, opName()); };
  const ctx: PickleContext = { fail };

  const need = (n: number): void => {
    if (pos + n > bytes.length) fail(`truncated pickle: needs ${n} more bytes but only ${bytes.length - pos} remain`);
  };
  const u8 = (): number => { need(1); return bytes[pos++]; };
  const u16 = (): number => { need(2); const v = dv.getUint16(pos, true); pos += 2; return v; };
  const u32 = (): number => { need(4); const v = dv.getUint32(pos, true); pos += 4; return v; };
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} is too large`);
    return Number(v);
  };
  const take = (n: number): Uint8Array => {
    if (n > maxStr) fail(`length ${n} exceeds the limit of ${maxStr} bytes`);
    need(n);
    const b = bytes.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const str = (n: number): string => {
    const b = take(n);
    try { return utf8.decode(b); } catch { return fail('string is not valid UTF-8'); }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('truncated pickle: missing newline');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PickleValue => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) fail('stack underflow');
    return stack.pop()!;
  };
  const top = (): PickleValue => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): PickleValue[] => {
    const m = marks.pop();
    if (m === undefined) fail('no MARK on the stack');
    return stack.splice(m!);
  };
  const dictKey = (k: PickleValue): string => {
    if (typeof k === 'string') return k;
    if (typeof k === 'number') return String(k);
    if (typeof k === 'bigint') return k.toString();
    if (typeof k === 'boolean') return k ? 'True' : 'False';
    if (k === null) return 'None';
    return fail(`unsupported dict key of type ${describe(k)} (only str, int, float, bool and None keys are supported)`);
  };
  const setItems = (d: PickleValue, items: PickleValue[]): void => {
    if (!isDict(d)) fail(`SETITEM(S) target is ${describe(d)}, not a dict`);
    if (items.length % 2) fail('odd number of items for SETITEMS');
    for (let i = 0; i < items.length; i += 2) (d as PickleDict)[dictKey(items[i])] = items[i + 1];
  };
  const append = (l: PickleValue, items: PickleValue[]): void => {
    if (!Array.isArray(l) || Object.isFrozen(l)) fail(`APPEND(S) target is ${describe(l)}, not a list`);
    // A loop, not push(...items): spreading ~120k+ items (one byte each in the pickle) overflows the call stack.
    for (const x of items) (l as PickleValue[]).push(x);
  };
  const resolve = (module: string, name: string): PickleGlobal => {
    const found = opts.findClass?.(module, name);
    if (!found) fail(`refused global '${module}.${name}': not on the allow-list of this loader (nothing was executed)`);
    return found instanceof PickleGlobal ? found : new PickleGlobal(module, name, found as PickleCallable);
  };
  const tuple = (items: PickleValue[]): readonly PickleValue[] => Object.freeze(items);
  const memoGet = (i: number): PickleValue => {
    if (!memo.has(i)) fail(`memo key ${i} is not defined`);
    return memo.get(i)!;
  };

  for (;;) {
    opStart = pos;
    if (pos >= bytes.length) { op = 0; fail('truncated pickle: ended without STOP'); }
    op = bytes[pos++];
    if (REFUSED.has(op)) fail(`refused: ${opName()} can instantiate arbitrary objects or needs state this safe loader does not provide (nothing was executed)`);
    switch (op) {
      case 0x80: { const v = u8(); if (v > 5) fail(`unsupported pickle protocol ${v} (supported: 2..5)`); break; } // PROTO
      case 0x95: u64(); break; // FRAME: framing is a reader hint only; the data is contiguous
      case 0x2e: { // STOP
        if (marks.length) fail('MARK without matching TUPLE/LIST/DICT/SETITEMS/APPENDS before STOP');
        if (stack.length !== 1) fail(`stack holds ${stack.length} values at STOP, expected 1`);
        return stack[0];
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: { need(4); stack.push(dv.getInt32(pos, true)); pos += 4; break; } // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(decodeLong(take(u8()))); break; // LONG1
      case 0x8b: { const n = u32(); if (n > 1 << 20) fail(`LONG4 of ${n} bytes is unreasonably large`); stack.push(decodeLong(take(n))); break; }
      case 0x47: { need(8); stack.push(dv.getFloat64(pos, false)); pos += 8; break; } // BINFLOAT (big-endian)
      case 0x58: stack.push(str(u32())); break; // BINUNICODE
      case 0x8c: stack.push(str(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(str(u64())); break; // BINUNICODE8
      case 0x54: { need(4); const n = dv.getInt32(pos, true); pos += 4; if (n < 0) fail('negative length'); stack.push(latin1.decode(take(n))); break; } // BINSTRING
      case 0x55: stack.push(latin1.decode(take(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(copy(take(u32()))); break; // BINBYTES
      case 0x43: stack.push(copy(take(u8()))); break; // SHORT_BINBYTES
      case 0x8e: stack.push(copy(take(u64()))); break; // BINBYTES8
      case 0x96: stack.push(copy(take(u64()))); break; // BYTEARRAY8
      case 0x7d: stack.push(newDict()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(tuple([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(tuple(popMark())); break; // TUPLE
      case 0x85: { const a = pop(); stack.push(tuple([a])); break; } // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(tuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(tuple([a, b, c])); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const d = newDict(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: stack.push(memoGet(u8())); break; // BINGET
      case 0x6a: stack.push(memoGet(u32())); break; // LONG_BINGET
      case 0x70: { const k = Number(line()); if (!Number.isInteger(k)) fail('bad PUT index'); memo.set(k, top()); break; } // PUT
      case 0x67: { const k = Number(line()); if (!Number.isInteger(k)) fail('bad GET index'); stack.push(memoGet(k)); break; } // GET
      case 0x63: { const module = line(); const name = line(); stack.push(resolve(module, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(resolve(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PickleGlobal) || !fn.impl) fail(`REDUCE on ${describe(fn)}, which is not an allowed callable`);
        if (!Array.isArray(args) || !Object.isFrozen(args)) fail(`REDUCE arguments must be a tuple, got ${describe(args)}`);
        stack.push((fn as PickleGlobal).impl!.call(args as PickleValue[], ctx));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (!opts.build?.(obj, state, ctx)) fail(`refused BUILD (__setstate__) on ${describe(obj)}: not allowed for this type`);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail('persistent ids are not allowed here');
        stack.push(opts.persistentLoad!(pid, ctx));
        break;
      }
      default:
        fail(OPNAMES[op] ? `unsupported opcode ${OPNAMES[op]} (not needed for torch checkpoints)` : 'unknown opcode');
    }
  }
}

/**
 * A copy of `b` in a fresh buffer. Not b.slice(): when the input is a Node Buffer,
 * Buffer#slice is a view, and a bytes value must not alias (and pin) the caller's input.
 */
function copy(b: Uint8Array): Uint8Array { return new Uint8Array(b); }

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Little-endian two's complement integer (LONG1/LONG4), as a number when exact. */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  // Through one hex string: shifting a BigInt byte by byte copies it every time, which is
  // quadratic (a 160 KB LONG4 took two minutes; the 1 MiB allowed would take hours).
  const hex = new Array<string>(b.length);
  for (let i = 0; i < b.length; i++) hex[b.length - 1 - i] = HEX_BYTE[b[i]];
  let v = BigInt('0x' + hex.join(''));
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Short type description for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PickleGlobal) return `global ${v.module}.${v.name}`;
  if (Array.isArray(v)) return Object.isFrozen(v) ? `tuple of ${v.length}` : `list of ${v.length}`;
  if (v instanceof Uint8Array) return 'bytes';
  if (isDict(v)) return 'dict';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
