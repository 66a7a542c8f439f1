// The Node.js way to do imgpipe's job: undici downloads with a concurrency limit, sharp (libvips,
// its own prebuilt copy inside the npm package) makes the thumbnails.
// Usage: node node_thumbnailer.mjs URLS OUTDIR [SIZE=256]
// Env: CONCURRENCY (transfers in flight, 64), PER_HOST (connections per origin, 16),
//      TIMEOUT_S (per transfer, headers and body, 30).
// Output: OUTDIR/NNNNNNNN.jpg named by 1-based line number, JPEG quality 85; exit 1 if any line
// failed (each failure on stderr).
//
// Written as a competent user would: one keep-alive Agent with a per-origin connection cap (the
// same politeness as imgpipe's --per-host), N async workers pulling lines from a shared index, each
// body kept in memory and handed straight to sharp, so downloads and resizing overlap. sharp's
// defaults are left as they are: libvips threads = cores per image, libuv's pool of 4 threads
// (which getaddrinfo shares) running up to 4 images at once.
import { readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Agent, request } from 'undici';
import sharp from 'sharp';

const [urlsPath, outDir, sizeArg] = process.argv.slice(2);
if (!urlsPath || !outDir) {
  console.error('usage: node node_thumbnailer.mjs URLS OUTDIR [SIZE]');
  process.exit(2);
}
const size = Number(sizeArg || 256);
const concurrency = Number(process.env.CONCURRENCY || 64);
const perHost = Number(process.env.PER_HOST || 16);
const timeoutMs = Number(process.env.TIMEOUT_S || 30) * 1000;

mkdirSync(outDir, { recursive: true });
const lines = readFileSync(urlsPath, 'utf8').split('\n');
const jobs = [];
lines.forEach((l, i) => {
  const u = l.trim();
  if (u && !u.startsWith('#')) jobs.push([i + 1, u]);
});

const agent = new Agent({
  connections: perHost,        // per origin
  pipelining: 1,
  keepAliveTimeout: 30_000,
  connect: { timeout: timeoutMs },
  headersTimeout: timeoutMs,
  bodyTimeout: timeoutMs,
});

let next = 0;
let failed = 0;

async function one(line, url) {
  const signal = AbortSignal.timeout(timeoutMs);  // whole-transfer limit, like imgpipe --timeout
  const { statusCode, body } = await request(url, { dispatcher: agent, signal });
  if (statusCode !== 200) {
    await body.dump();
    throw new Error(`HTTP ${statusCode}`);
  }
  const buf = Buffer.from(await body.arrayBuffer());
  const out = path.join(outDir, String(line).padStart(8, '0') + '.jpg');
  await sharp(buf, { failOn: 'truncated' })
    .rotate()  // EXIF orientation, as imgpipe and vipsthumbnail apply it
    .resize(size, size, { fit: 'inside', withoutEnlargement: true })
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: 85 })
    .toFile(out);
}

async function worker() {
  while (next < jobs.length) {
    const [line, url] = jobs[next++];
    try {
      await one(line, url);
    } catch (e) {
      failed++;
      console.error(`line ${line}: ${url}: ${e.cause?.code || e.code || ''} ${e.message}`);
    }
  }
}

await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
await agent.close();
process.exitCode = failed ? 1 : 0;
