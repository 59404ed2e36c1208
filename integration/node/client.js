// A real gRPC client (@grpc/grpc-js, .proto loaded at run time by @grpc/proto-loader) for `mld serve`,
// used by the integration tests:
//   node client.js ADDRESS evaluate INPUT.json OUTPUT.json   unary and streaming results for the frames
//   node client.js ADDRESS health OUTPUT.json                 health checks
//   node client.js ADDRESS errors INPUT.json OUTPUT.json     provoke every error status, report what was seen
//   node client.js ADDRESS load INPUT.json OUTPUT.json CLIENTS STEPS   concurrent lock-step streams, latency
'use strict';
const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const protos = path.join(__dirname, '..', '..', 'protos');
const definition = protoLoader.loadSync(['molecular_learning.proto', 'grpc/health/v1/health.proto'], {
  includeDirs: [protos], keepCase: true, longs: Number, enums: String, defaults: true,
});
const loaded = grpc.loadPackageDefinition(definition);
const ForceField = loaded.molecular_learning.v1.ForceField;
const Health = loaded.grpc.health.v1.Health;

const deadline = (seconds) => new Date(Date.now() + seconds * 1000);
const request = (frame, id = 0, withSpecies = true) => ({
  symbols: withSpecies ? frame.symbols : [], positions_angstrom: frame.positions,
  cell_angstrom: frame.cell || [], id, step: 10 * id,
});
const result = (r) => ({ id: r.id, step: r.step, energy: r.energy_ev, forces: r.forces_ev_per_angstrom, virial: r.virial_ev });
const unary = (client, method, message, options = {}) => new Promise((resolve, reject) =>
  client[method](message, new grpc.Metadata(), { deadline: deadline(30), ...options }, (e, r) => (e ? reject(e) : resolve(r))));

// A bidirectional stream stepped like an MD driver: write one request, wait for its response.
function lockStep(client, seconds) {
  const call = client.EvaluateStream({ deadline: deadline(seconds) });
  const waiting = [];
  const buffered = [];
  let failure = null;
  const ended = new Promise((resolve) => call.on('status', resolve));
  call.on('data', (r) => (waiting.length ? waiting.shift().resolve(r) : buffered.push(r)));
  call.on('error', (e) => { failure = e; while (waiting.length) waiting.shift().reject(e); });
  return {
    step(message) {
      call.write(message);
      if (buffered.length) return Promise.resolve(buffered.shift());
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    async close() { call.end(); return ended; },
  };
}

async function evaluate(address, frames) {
  const client = new ForceField(address, grpc.credentials.createInsecure());
  const unaryResults = [];
  for (let i = 0; i < frames.length; i++) unaryResults.push(result(await unary(client, 'Evaluate', request(frames[i], i))));
  const stream = lockStep(client, 60);
  const streamed = [];
  for (let i = 0; i < frames.length; i++) streamed.push(result(await stream.step(request(frames[i], i, i === 0))));
  const status = await stream.close();
  if (status.code !== grpc.status.OK) throw new Error(`stream ended with ${status.code}: ${status.details}`);
  const model = await unary(client, 'DescribeModel', {});
  client.close();
  return {
    unary: unaryResults, stream: streamed,
    model: { species: model.species.map((s) => s.symbol), cutoff: model.cutoff_angstrom, order: model.order, mode: model.mode, max_atoms: model.max_atoms },
  };
}

async function health(address) {
  const client = new Health(address, grpc.credentials.createInsecure());
  const out = {};
  for (const service of ['', 'molecular_learning.v1.ForceField']) out[service || '(server)'] = (await unary(client, 'Check', { service })).status;
  client.close();
  return out;
}

const codeName = (code) => Object.keys(grpc.status).find((k) => grpc.status[k] === code);
async function statusOf(action) {
  try {
    await action();
    return { code: 'OK', details: '' };
  } catch (e) {
    if (e.code === undefined) throw e;
    return { code: codeName(e.code), details: e.details || '' };
  }
}

async function errors(address, frames) {
  const frame = frames[0];
  const client = new ForceField(address, grpc.credentials.createInsecure());
  const gzip = new ForceField(address, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2, 'grpc.default_compression_level': 2 });
  const health = new Health(address, grpc.credentials.createInsecure());
  const bad = (edit) => { const r = request(frame); edit(r); return () => unary(client, 'Evaluate', r); };
  const out = {};
  out.nan = await statusOf(bad((r) => { r.positions_angstrom = [...r.positions_angstrom]; r.positions_angstrom[4] = NaN; }));
  out.wrong_length = await statusOf(bad((r) => { r.positions_angstrom = [...r.positions_angstrom, 1.0]; }));
  out.unknown_species = await statusOf(bad((r) => { r.symbols = [...r.symbols]; r.symbols[3] = 'Xe'; }));
  out.too_many_atoms = await statusOf(() => unary(client, 'Evaluate', request({
    symbols: [...frame.symbols, ...frame.symbols, ...frame.symbols],
    positions: [...frame.positions, ...frame.positions, ...frame.positions], cell: frame.cell,
  })));
  out.oversized = await statusOf(() => unary(client, 'Evaluate', { positions_angstrom: new Array(30000).fill(0.5) }));
  out.compressed = await statusOf(() => unary(gzip, 'Evaluate', request(frame)));
  const generic = new grpc.Client(address, grpc.credentials.createInsecure());
  out.unknown_method = await statusOf(() => new Promise((resolve, reject) => generic.makeUnaryRequest(
    '/molecular_learning.v1.ForceField/Teleport', (x) => x, (x) => x, Buffer.alloc(0), { deadline: deadline(10) },
    (e, r) => (e ? reject(e) : resolve(r)))));
  out.unknown_health_service = await statusOf(() => unary(health, 'Check', { service: 'nope' }));
  out.deadline = await statusOf(async () => {
    const stream = lockStep(client, 0.5);
    await stream.step(request(frame));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const status = await stream.close();
    if (status.code !== grpc.status.OK) throw Object.assign(new Error(status.details), status);
  });
  out.mid_stream = await statusOf(async () => {
    const stream = lockStep(client, 10);
    await stream.step(request(frame, 1));
    const r = request(frame, 2, false);
    r.positions_angstrom = [...r.positions_angstrom];
    r.positions_angstrom[0] = Infinity;
    await stream.step(r);
  });
  out.after = await statusOf(() => unary(client, 'Evaluate', request(frame)));
  for (const c of [client, gzip, health, generic]) c.close();
  return out;
}

// CLIENTS concurrent streams (each on its own channel), each stepping STEPS times in lock step; every
// response is checked for its id (nothing lost or reordered) and its energy (the frame it belongs to).
async function load(address, frames, clients, steps) {
  const probe = new ForceField(address, grpc.credentials.createInsecure());
  const expected = [];
  for (const f of frames) expected.push((await unary(probe, 'Evaluate', request(f))).energy_ev);
  probe.close();
  const latencies = [];
  const failures = [];
  async function run(c) {
    const client = new ForceField(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    try {
      const stream = lockStep(client, 600);
      for (let k = 0; k < steps; k++) {
        const f = (k + 7 * c) % frames.length;
        const t0 = process.hrtime.bigint();
        const r = await stream.step(request(frames[f], k, k === 0));
        latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
        if (r.id !== k || Math.abs(r.energy_ev - expected[f]) > 1e-12 * Math.abs(expected[f])
            || r.forces_ev_per_angstrom.length !== frames[f].positions.length) {
          failures.push(`client ${c} step ${k}: got id ${r.id}, energy ${r.energy_ev} (expected ${expected[f]})`);
          return;
        }
      }
      const status = await stream.close();
      if (status.code !== grpc.status.OK) failures.push(`client ${c}: status ${status.code} ${status.details}`);
    } catch (e) {
      failures.push(`client ${c}: ${e.code} ${e.details || e.message}`);
    } finally {
      client.close();
    }
  }
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: clients }, (_, c) => run(c)));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  latencies.sort((a, b) => a - b);
  const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : 0);
  return {
    clients, steps, evaluations: latencies.length, seconds, evaluations_per_second: latencies.length / seconds,
    p50_us: pct(0.5), p99_us: pct(0.99), failures,
  };
}

async function main() {
  const [address, mode, ...rest] = process.argv.slice(2);
  let out;
  let output;
  if (mode === 'health') {
    out = await health(address);
    [output] = rest;
  } else {
    const frames = JSON.parse(fs.readFileSync(rest[0], 'utf8')).frames;
    output = rest[1];
    if (mode === 'evaluate') out = await evaluate(address, frames);
    else if (mode === 'errors') out = await errors(address, frames);
    else if (mode === 'load') out = await load(address, frames, Number(rest[2]), Number(rest[3]));
    else throw new Error(`unknown mode ${mode}`);
  }
  fs.writeFileSync(output, JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
