// SelectMergeStacktraces' FlameGraph (Pyroscope's level encoding) to the nested-set data frame
// Grafana's flame graph panel takes, as Grafana's Pyroscope data source builds it: one row per
// node, depth-first pre-order, fields level / value / self / label. Written from the encoding's
// description (../shared/GRAFANA-PYROSCOPE-API.md: names[0] = "total"; each level a flat list of
// [x_delta, total, self, name_index] quadruples ordered by x, x_delta relative to the end of the
// previous bar of the same level; a bar's parent is the bar of the level above that contains it).

/** Proto3 JSON writes int64 as strings: every number of the answer goes through here. */
function int(v) {
  const n = typeof v === 'string' ? Number(v) : v;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new Error(`flame graph value ${JSON.stringify(v)} is not a non-negative integer`);
  }
  return n;
}

/** The bars of every level with absolute x, and each bar's children, checked for containment. */
export function decodeLevels(flamegraph) {
  const names = flamegraph.names || [];
  const levels = (flamegraph.levels || []).map((level, depth) => {
    const values = (level.values || []).map(int);
    if (values.length % 4 !== 0) {
      throw new Error(`level ${depth} has ${values.length} values, not a multiple of 4`);
    }
    const bars = [];
    let end = 0;
    for (let i = 0; i < values.length; i += 4) {
      const [delta, total, self, nameIndex] = values.slice(i, i + 4);
      if (nameIndex >= names.length) {
        throw new Error(`level ${depth} names index ${nameIndex}, beyond the ${names.length} names`);
      }
      const x = end + delta;
      bars.push({ x, total, self, label: names[nameIndex], depth, children: [] });
      end = x + total;
    }
    return bars;
  });
  if (levels.length === 0 || levels[0].length !== 1) {
    throw new Error('level 0 must hold exactly one bar (total)');
  }
  for (let depth = 1; depth < levels.length; depth++) {
    const parents = levels[depth - 1];
    let p = 0;
    for (const bar of levels[depth]) {
      // Both levels are ordered by x: the parent of the next bar is this one's or a later one.
      while (p < parents.length && parents[p].x + parents[p].total <= bar.x) {
        p++;
      }
      const parent = parents[p];
      if (!parent || bar.x < parent.x || bar.x + bar.total > parent.x + parent.total) {
        throw new Error(`bar ${bar.label} at level ${depth} (x ${bar.x}, total ${bar.total}) lies in no parent`);
      }
      parent.children.push(bar);
    }
  }
  return levels[0][0];
}

/** Rows of the data frame in depth-first pre-order: {level, value, self, label}. */
export function levelsToRows(flamegraph) {
  const rows = { level: [], value: [], self: [], label: [] };
  const stack = [decodeLevels(flamegraph)];
  while (stack.length > 0) {
    const bar = stack.pop();
    rows.level.push(bar.depth);
    rows.value.push(bar.total);
    rows.self.push(bar.self);
    rows.label.push(bar.label);
    for (let i = bar.children.length - 1; i >= 0; i--) {
      stack.push(bar.children[i]);
    }
  }
  return rows;
}

/** The unit Grafana gives the value field: from the profile type id's third part. */
export function unitOf(profileTypeId) {
  const unit = (profileTypeId || '').split(':')[2];
  return { nanoseconds: 'ns', bytes: 'bytes', count: 'short' }[unit] || 'short';
}
