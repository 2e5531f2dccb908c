// build.mjs — turns src/ into the three files the C server serves from dist/:
// index.html and app.css copied as they are, app.js bundled (ECharts included)
// so that the page needs nothing but its own origin at run time.
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');

const version = async (pkg) =>
  JSON.parse(await readFile(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;

// The bundled libraries' own license comments carry a URL; the page must contain
// none, so a short URL-free notice replaces them (full texts ship in each npm package).
const notice =
  `/*! Bundles echarts ${await version('echarts')} and zrender ${await version('zrender')} ` +
  `(Apache License 2.0; Apache Software Foundation, Baidu Inc.) and tslib ${await version('tslib')} ` +
  '(0BSD; Microsoft Corporation). */';

// Start from an empty dist/ so stale files never ship alongside the three we own.
await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

await build({
  entryPoints: [join(src, 'app.js')],
  outfile: join(dist, 'app.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2019',
  minify: true,
  sourcemap: false,
  charset: 'utf8',
  legalComments: 'none',
  banner: { js: notice },
  // ECharts guards its dev-only warnings behind this; a browser has no `process`.
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});

await copyFile(join(src, 'index.html'), join(dist, 'index.html'));
await copyFile(join(src, 'app.css'), join(dist, 'app.css'));
console.log('built dist/index.html, dist/app.js, dist/app.css');
