#!/usr/bin/env node
// The reference engine for xfw's Wasm policies: Node's WebAssembly runs a policy module with the
// ABI (docs/policy-abi.md) implemented in JavaScript, over the frames of a pcap, and prints
// what happened as JSON, for comparison with what xfw's eBPF does through BPF_PROG_TEST_RUN.
//
//   node run_policy.mjs --module P.wasm --frames F.pcap --instrument PATH/xfw-wasm-fuel
//                       [--func filter] [--buckets N] [--fuel 65536] [--ifindex 1]
//                       [--charge-import-calls]
//
// Prints {"runs":[{"trapped":bool,"trap_code":N,"result":u32}...],
//         "buckets":[{"packets":N,"bytes":N}...], "bucket_names":[...]}
// and exits 0; a module it cannot run (does not compile, imports something else, no such
// export, bad bucket declaration) prints {"error": "..."} and exits 2.
//
//   node run_policy.mjs --jobs JOBS.json --frames F.pcap --instrument PATH/xfw-wasm-fuel
//
// runs many modules over the same frames in one process (each on its own instance):
// JOBS.json is [{"module": path, "func"?, "buckets"?, "fuel"?, "ifindex"?}, ...]; prints
// {"results": [ <one object as above, or {"error": ...}>, ... ]} and exits 0.
//
// Semantics, as the ABI states them:
// - one instance for the whole pcap: linear memory and globals carry over from frame to frame,
//   as they do on one CPU in the kernel;
// - load_u8/16/32/64(off): big-endian, trap 5 (packet) when off + width > frame length, with
//   off unsigned; pkt_len(); ifindex(); count(b): trap 7 (bucket) when b >= number of buckets,
//   otherwise +1 packet and +frame length bytes, kept even when the run traps later;
// - fuel: the module is rewritten by xfw-wasm-fuel (tests/wasm/oracle/fuel_instrument.hpp) to
//   call xfw_oracle.charge at every call and every loop iteration after the first; each run
//   starts with --fuel units and the charge that finds none left traps 6 (fuel);
// - engine traps map to the ABI codes: unreachable 1, divide/remainder by zero 2, divide result
//   unrepresentable 3, memory access out of bounds 4.
// The function's i32 result is reported raw (as unsigned): -j WASM verdict checks are the
// caller's business.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TRAP = { unreachable: 1, divideByZero: 2, overflow: 3, memory: 4, packet: 5, fuel: 6, bucket: 7 };

class PolicyTrap extends Error {
  constructor(code) {
    super(`policy trap ${code}`);
    this.code = code;
  }
}

class BadInput extends Error {}

function parseArgs(argv) {
  const opts = { func: 'filter', fuel: 65536, ifindex: 1, buckets: null, chargeImportCalls: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new BadInput(`${a} needs a value`);
      return argv[++i];
    };
    const num = (v, name, min, max) => {
      if (!/^[0-9]+$/.test(v)) throw new BadInput(`${name}: '${v}' is not a number`);
      const n = Number(v);
      if (n < min || n > max) throw new BadInput(`${name}: ${n} is outside ${min}..${max}`);
      return n;
    };
    switch (a) {
      case '--module': opts.module = next(); break;
      case '--jobs': opts.jobs = next(); break;
      case '--frames': opts.frames = next(); break;
      case '--instrument': opts.instrument = next(); break;
      case '--func': opts.func = next(); break;
      case '--buckets': opts.buckets = num(next(), '--buckets', 0, 64); break;
      case '--fuel': opts.fuel = num(next(), '--fuel', 1, 2 ** 24); break;
      case '--ifindex': opts.ifindex = num(next(), '--ifindex', 0, 2 ** 32 - 1); break;
      case '--charge-import-calls': opts.chargeImportCalls = true; break;
      default: throw new BadInput(`unknown option ${a}`);
    }
  }
  for (const k of ['frames', 'instrument'])
    if (!opts[k]) throw new BadInput(`--${k} is required`);
  if (!opts.module === !opts.jobs) throw new BadInput('give one of --module and --jobs');
  return opts;
}

// Classic pcap (either byte order, micro- or nanosecond timestamps): the captured bytes of
// every record.
function readPcap(path) {
  const b = readFileSync(path);
  if (b.length < 24) throw new BadInput(`${path}: too short for a pcap header`);
  const magicLE = b.readUInt32LE(0);
  let le;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) le = true;
  else if (b.readUInt32BE(0) === 0xa1b2c3d4 || b.readUInt32BE(0) === 0xa1b23c4d) le = false;
  else throw new BadInput(`${path}: not a pcap file`);
  const u32 = (o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const frames = [];
  for (let off = 24; off < b.length;) {
    if (off + 16 > b.length) throw new BadInput(`${path}: truncated record header at byte ${off}`);
    const caplen = u32(off + 8);
    if (off + 16 + caplen > b.length) throw new BadInput(`${path}: truncated record at byte ${off}`);
    frames.push(b.subarray(off + 16, off + 16 + caplen));
    off += 16 + caplen;
  }
  return frames;
}

// Bucket names from the xfw.buckets custom section, reconciled with --buckets as the ABI says.
function bucketNames(module, flag) {
  const sections = WebAssembly.Module.customSections(module, 'xfw.buckets');
  if (sections.length > 1) throw new BadInput('more than one xfw.buckets section');
  if (sections.length === 0) {
    const n = flag ?? 0;
    return Array.from({ length: n }, (_, i) => `b${i}`);
  }
  let text = Buffer.from(sections[0]).toString('utf8');
  if (text.endsWith('\n')) text = text.slice(0, -1);
  const names = text.split('\n');
  const seen = new Set();
  for (const n of names) {
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(n)) throw new BadInput(`xfw.buckets: bad bucket name '${n}'`);
    if (seen.has(n)) throw new BadInput(`xfw.buckets: bucket '${n}' declared twice`);
    seen.add(n);
  }
  if (names.length > 64) throw new BadInput(`xfw.buckets: ${names.length} buckets, at most 64`);
  if (flag !== null && flag !== names.length)
    throw new BadInput(`--buckets ${flag} but the module's xfw.buckets section declares ${names.length}`);
  return names;
}

// The fuel rewrite of every module, by one run of the rewriter: a Buffer per module, or a
// BadInput for a module it refused.
function instrument(tool, modulePaths, chargeImportCalls) {
  const dir = mkdtempSync(join(tmpdir(), 'xfw-oracle-'));
  try {
    const outs = modulePaths.map((_, i) => join(dir, `fuel${i}.wasm`));
    const args = ['--keep-going'];
    if (chargeImportCalls) args.push('--charge-import-calls');
    modulePaths.forEach((m, i) => args.push(m, outs[i]));
    const r = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.error) throw new Error(`cannot run ${tool}: ${r.error.message}`);
    if (r.status !== 0 && r.status !== 2) throw new Error(`${tool} exited ${r.status}: ${r.stderr}`);
    const errors = new Map();
    for (const line of r.stderr.split('\n')) {
      const m = /^xfw-wasm-fuel: (.*?): (.*)$/.exec(line);
      if (m) errors.set(m[1], m[2]);
    }
    return modulePaths.map((m, i) => {
      if (errors.has(m)) return new BadInput(errors.get(m));
      try {
        return readFileSync(outs[i]);
      } catch {
        return new BadInput(`${tool} wrote nothing for ${m}`);
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function trapCode(e) {
  if (e instanceof PolicyTrap) return e.code;
  if (e instanceof WebAssembly.RuntimeError) {
    const m = e.message;
    if (m.includes('unreachable')) return TRAP.unreachable;
    if (m.includes('divide by zero') || m.includes('remainder by zero')) return TRAP.divideByZero;
    if (m.includes('divide result unrepresentable') || m.includes('integer overflow')) return TRAP.overflow;
    if (m.includes('memory access out of bounds')) return TRAP.memory;
  }
  throw e; // anything else is the oracle's own failure, not a policy trap
}

// Runs one module over the frames; returns the report object or throws BadInput.
function runJob(job, frames, instrumented) {
  const original = new WebAssembly.Module(readFileSync(job.module));
  const names = bucketNames(original, job.buckets);
  for (const imp of WebAssembly.Module.imports(original)) {
    const ok = imp.module === 'xfw' && imp.kind === 'function' &&
      ['load_u8', 'load_u16', 'load_u32', 'load_u64', 'pkt_len', 'ifindex', 'count'].includes(imp.name);
    if (!ok) throw new BadInput(`import ${imp.module}.${imp.name} (${imp.kind}) is not part of the xfw ABI`);
  }
  if (instrumented instanceof Error) throw instrumented;
  const module = new WebAssembly.Module(instrumented);

  let frame = Buffer.alloc(0);
  let fuelLeft = 0;
  const buckets = names.map(() => ({ packets: 0, bytes: 0 }));
  const load = (width, read) => (off) => {
    const o = off >>> 0;
    if (o + width > frame.length) throw new PolicyTrap(TRAP.packet);
    return read(o);
  };
  const imports = {
    xfw: {
      load_u8: load(1, (o) => frame[o]),
      load_u16: load(2, (o) => frame.readUInt16BE(o)),
      load_u32: load(4, (o) => frame.readUInt32BE(o) | 0),
      load_u64: load(8, (o) => frame.readBigUInt64BE(o)),
      pkt_len: () => frame.length,
      ifindex: () => job.ifindex | 0,
      count: (b) => {
        const i = b >>> 0;
        if (i >= buckets.length) throw new PolicyTrap(TRAP.bucket);
        buckets[i].packets += 1;
        buckets[i].bytes += frame.length;
      },
    },
    xfw_oracle: {
      charge: () => {
        if (fuelLeft === 0) throw new PolicyTrap(TRAP.fuel);
        fuelLeft -= 1;
      },
    },
  };
  const instance = new WebAssembly.Instance(module, imports);
  const fn = instance.exports[job.func];
  if (typeof fn !== 'function') throw new BadInput(`the module exports no function '${job.func}'`);

  const runs = [];
  for (const f of frames) {
    frame = f;
    fuelLeft = job.fuel;
    try {
      const r = fn();
      if (typeof r !== 'number') throw new BadInput(`'${job.func}' does not return an i32`);
      runs.push({ trapped: false, trap_code: 0, result: r >>> 0 });
    } catch (e) {
      if (e instanceof BadInput) throw e;
      runs.push({ trapped: true, trap_code: trapCode(e), result: 0 });
    }
  }
  return { runs, buckets, bucket_names: names };
}

function isBadModule(e) {
  return e instanceof BadInput || e instanceof WebAssembly.CompileError || e instanceof WebAssembly.LinkError;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const frames = readPcap(opts.frames);
  if (opts.module) {
    const job = { module: opts.module, func: opts.func, buckets: opts.buckets, fuel: opts.fuel, ifindex: opts.ifindex };
    const [instrumented] = instrument(opts.instrument, [opts.module], opts.chargeImportCalls);
    process.stdout.write(JSON.stringify(runJob(job, frames, instrumented)) + '\n');
    return;
  }
  const jobs = JSON.parse(readFileSync(opts.jobs, 'utf8')).map((j) => ({
    module: j.module, func: j.func ?? 'filter', buckets: j.buckets ?? null, fuel: j.fuel ?? 65536, ifindex: j.ifindex ?? 1,
  }));
  const instrumented = instrument(opts.instrument, jobs.map((j) => j.module), opts.chargeImportCalls);
  const results = jobs.map((job, i) => {
    try {
      return runJob(job, frames, instrumented[i]);
    } catch (e) {
      if (isBadModule(e)) return { error: e.message };
      throw e;
    }
  });
  process.stdout.write(JSON.stringify({ results }) + '\n');
}

try {
  main();
} catch (e) {
  if (isBadModule(e)) {
    process.stdout.write(JSON.stringify({ error: e.message }) + '\n');
    process.exit(2);
  }
  throw e;
}
