// Bundles page.jsx (React, @grafana/flamegraph and what they import) into one script for a
// file:// page: node bundle.mjs OUTFILE.
import { build } from 'esbuild';

const outfile = process.argv[2];
if (!outfile) {
  console.error('usage: node bundle.mjs OUTFILE');
  process.exit(2);
}
await build({
  entryPoints: [new URL('./page.jsx', import.meta.url).pathname],
  bundle: true,
  outfile,
  format: 'iife',
  platform: 'browser',
  target: 'chrome110',
  jsx: 'automatic',
  minify: true,
  define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
  loader: { '.svg': 'text', '.woff': 'empty', '.woff2': 'empty', '.ttf': 'empty', '.css': 'empty' },
  logLevel: 'error',
});
