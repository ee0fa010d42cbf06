// Calls every method of the aggregator's querier.v1.QuerierService with the Connect project's own
// Node client (binary protobuf and JSON, gzip both ways), plus one failing call per error code,
// and prints what it got as one JSON object for GrafanaConnectClientTest to check. Exits non-zero
// when a call fails in a way it did not expect.
//
// Environment: BASE_URL, TOKEN, SERVICE, FROM_MS, TO_MS.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport } from "@connectrpc/connect-node";
import { QuerierService } from "./gen/querier/v1/querier_pb.js";
import { TimeSeriesAggregationType } from "./gen/types/v1/types_pb.js";

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set`);
  }
  return v;
};
const baseUrl = env("BASE_URL");
const token = env("TOKEN");
const service = env("SERVICE");
const start = BigInt(env("FROM_MS"));
const end = BigInt(env("TO_MS"));
const cpu = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";
const selector = `{service_name="${service}"}`;

function client(useBinaryFormat, bearer, encodings) {
  const transport = createConnectTransport({
    baseUrl,
    httpVersion: "1.1",
    useBinaryFormat,
    sendCompression: compressionGzip,
    compressMinBytes: 0,
    acceptCompression: [compressionGzip],
    interceptors: [
      (next) => async (req) => {
        if (bearer) {
          req.header.set("Authorization", `Bearer ${bearer}`);
        }
        const res = await next(req);
        encodings[req.method.name] = res.header.get("content-encoding") ?? "identity";
        return res;
      },
    ],
  });
  return createClient(QuerierService, transport);
}

/** Counts the bars of levels 1.. (level 0 is the root) and checks each level's layout. */
function flameStats(fg) {
  let nodes = 0;
  let otherNodes = 0;
  const otherIndex = fg.names.indexOf("other");
  fg.levels.forEach((level, depth) => {
    if (level.values.length % 4 !== 0) {
      throw new Error(`level ${depth} has ${level.values.length} values, not quadruples`);
    }
    if (depth > 0) {
      nodes += level.values.length / 4;
      for (let i = 3; i < level.values.length; i += 4) {
        if (Number(level.values[i]) === otherIndex) {
          otherNodes++;
        }
      }
    }
  });
  const root = fg.levels[0].values.map(Number);
  return {
    total: fg.total.toString(),
    maxSelf: fg.maxSelf.toString(),
    names: fg.names.length,
    firstName: fg.names[0],
    levels: fg.levels.length,
    root,
    nodes,
    otherNodes,
  };
}

async function everyMethod(useBinaryFormat) {
  const encodings = {};
  const c = client(useBinaryFormat, token, encodings);
  const out = {};
  out.healthCheck = (await c.profileTypes({ start: 1000n, end: 4000n })).profileTypes.map((t) => t.ID);
  out.profileTypes = (await c.profileTypes({ start, end })).profileTypes.map((t) => ({
    id: t.ID, name: t.name, sampleType: t.sampleType, sampleUnit: t.sampleUnit,
    periodType: t.periodType, periodUnit: t.periodUnit,
  }));
  out.labelNames = (await c.labelNames({ matchers: [selector], start, end })).names;
  out.services = (await c.labelValues({ name: "service_name", start, end })).names;
  out.pods = (await c.labelValues({ name: "pod", matchers: [selector], start, end })).names;
  out.series = (await c.series({ matchers: [selector], labelNames: ["service_name", "pod"], start, end }))
    .labelsSet.map((l) => Object.fromEntries(l.labels.map((p) => [p.name, p.value])));
  const merged = await c.selectMergeStacktraces({ profileTypeID: cpu, labelSelector: selector, start, end });
  out.flamegraph = flameStats(merged.flamegraph);
  const folded = await c.selectMergeStacktraces({ profileTypeID: cpu, labelSelector: selector, start, end,
    maxNodes: 3n });
  out.folded = flameStats(folded.flamegraph);
  const pprof = await c.selectMergeProfile({ profileTypeID: cpu, labelSelector: selector, start, end });
  out.pprof = {
    sampleTypes: pprof.sampleType.map((t) => pprof.stringTable[Number(t.type)]),
    samples: pprof.sample.reduce((s, x) => s + x.value[0], 0n).toString(),
    value: pprof.sample.reduce((s, x) => s + x.value[1], 0n).toString(),
  };
  const series = await c.selectSeries({ profileTypeID: cpu, labelSelector: selector, start, end, step: 10,
    groupBy: ["pod"] });
  out.selectSeries = series.series.map((s) => ({
    labels: Object.fromEntries(s.labels.map((p) => [p.name, p.value])),
    points: s.points.length,
    sum: s.points.reduce((a, p) => a + p.value, 0),
    ascending: s.points.every((p, i, all) => i === 0 || all[i - 1].timestamp < p.timestamp),
  }));
  out.encodings = encodings;
  return out;
}

async function codeOf(call) {
  try {
    await call();
    return "ok";
  } catch (e) {
    if (e instanceof ConnectError) {
      return Code[e.code];
    }
    throw e;
  }
}

async function errorCases() {
  const c = client(true, token, {});
  const json = client(false, token, {});
  return {
    invalidArgument: await codeOf(() => c.selectMergeStacktraces({ profileTypeID: cpu, labelSelector: "{pod=x}",
      start, end })),
    invalidArgumentJson: await codeOf(() => json.labelNames({ matchers: ["{service_name=~\"(\"}"], start, end })),
    notFound: await codeOf(() => c.selectMergeStacktraces({ profileTypeID: "memory:alloc:bytes:space:bytes",
      labelSelector: selector, start, end })),
    unauthenticated: await codeOf(() => client(true, "wrong-token", {}).profileTypes({ start, end })),
    unauthenticatedNoToken: await codeOf(() => client(false, null, {}).profileTypes({ start, end })),
    unimplemented: await codeOf(() => c.selectSeries({ profileTypeID: cpu, labelSelector: selector, start, end,
      step: 10, aggregation: TimeSeriesAggregationType.AVERAGE })),
  };
}

const result = { binary: await everyMethod(true), json: await everyMethod(false), errors: await errorCases() };
console.log(JSON.stringify(result));
