// callscope's viewer next to speedscope on the same profile, in one run: the benchmark's
// synthetic session (`synthetic-session`: 4 threads, depth 20–60, 3000 functions) opened
// through each app's file picker in headless Chromium, as a user opens a file.
//
// For each app it prints: the time from choosing the file to the first drawn view
// (callscope: the call tree, then its timeline; speedscope: its time-ordered flame chart),
// the median and 90th-percentile frame time while a script zooms and pans with the wheel
// (rAF timestamps, one wheel event per frame), and the memory held after load (JS heap
// after a garbage collection, plus every WebAssembly memory). Then the ratios.
//
//   node bench/viewer.mjs [--samples N[,N...]] [--no-speedscope]   (or `make bench-viewer`)
//
// callscope opens both its own session and the speedscope JSON; the ratios compare the two
// apps on the same JSON file.
//
// Needs `make viewer` (www/dist) and `scripts/setup.sh browser` (Chromium, playwright-core
// and speedscope from npm); `make bench-viewer` does both.
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { createReadStream, existsSync, statSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { extname, join, normalize } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;
const OUT = join(ROOT, "target/bench");
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const sampleCounts = option("--samples", "100000,1000000,10000000").split(",").map(Number);
const withSpeedscope = !flag("--no-speedscope");
const FRAMES = 120;

for (const [what, path] of [["callscope's viewer (make viewer)", "www/dist/index.html"],
  ["speedscope (scripts/setup.sh browser)", "node_modules/speedscope/dist/release/index.html"]]) {
  if (!existsSync(join(ROOT, path))) {
    console.error(`viewer-bench: ${path} is missing: build ${what} first`);
    process.exit(2);
  }
}

// Both apps and the profiles from one local server: the hosted viewer fetches its wasm,
// which browsers refuse from file://.
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm",
  ".css": "text/css", ".json": "application/json" };
const server = createServer((req, res) => {
  const path = normalize(join(ROOT, decodeURIComponent(new URL(req.url, "http://x").pathname)));
  if (!path.startsWith(ROOT) || !existsSync(path) || !statSync(path).isFile()) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": TYPES[extname(path)] || "application/octet-stream" });
  createReadStream(path).pipe(res);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--js-flags=--max-old-space-size=8192"],
});

const nextFrame = (page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));

// Keeps every WebAssembly memory a page instantiates, to be counted (V8's heap usage leaves
// them out).
const WATCH_WASM = () => {
  window.__wasmMemories = [];
  const keep = (result) => {
    const instance = result instanceof WebAssembly.Instance ? result : result.instance;
    for (const e of Object.values(instance.exports)) {
      if (e instanceof WebAssembly.Memory) window.__wasmMemories.push(e);
    }
    return result;
  };
  for (const name of ["instantiate", "instantiateStreaming"]) {
    const original = WebAssembly[name];
    WebAssembly[name] = (...a) => original.apply(WebAssembly, a).then(keep);
  }
};

async function newPage() {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.addInitScript(WATCH_WASM);
  return page;
}

/** JS heap after a full collection, and the bytes of every WebAssembly memory, in MB. */
async function memory(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("HeapProfiler.collectGarbage");
  const { usedSize } = await cdp.send("Runtime.getHeapUsage");
  await cdp.detach();
  const wasm = await page.evaluate(() => window.__wasmMemories.reduce((s, m) => s + m.buffer.byteLength, 0));
  return { js: usedSize / 1e6, wasm: wasm / 1e6 };
}

/**
 * Zooms in, pans right, pans back and zooms out over `selector`, one wheel event per frame,
 * and returns the times between the frames drawn meanwhile. `checkZoomed` proves, once the
 * zoom-in is done, that the wheel reached the app.
 */
async function frameTimes(page, selector, checkZoomed) {
  const box = await page.locator(selector).boundingBox();
  await page.mouse.move(box.x + box.width * 0.4, box.y + Math.min(box.height * 0.3, 200));
  await page.evaluate(() => {
    window.__frames = [];
    const tick = (t) => {
      window.__frames.push(t);
      if (window.__frames.length < 100_000) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const quarter = FRAMES / 4;
  for (let i = 0; i < FRAMES; i++) {
    const zoom = i < quarter || i >= 3 * quarter;
    if (zoom) await page.keyboard.down("Control");
    const dy = zoom ? (i < quarter ? -40 : 40) : 0;
    const dx = zoom ? 0 : (i < 2 * quarter ? 150 : -150);
    await page.mouse.wheel(dx, dy);
    if (zoom) await page.keyboard.up("Control");
    await nextFrame(page);
    if (i === quarter - 1) await checkZoomed();
  }
  const stamps = await page.evaluate(() => {
    const f = window.__frames;
    window.__frames = [];
    return f;
  });
  const deltas = stamps.slice(1).map((t, i) => t - stamps[i]).sort((a, b) => a - b);
  const at = (q) => deltas[Math.min(deltas.length - 1, Math.floor(q * deltas.length))];
  return { median: at(0.5), p90: at(0.9) };
}

async function callscope(page, file, shot) {
  await page.goto(base + "www/dist/index.html");
  await page.waitForSelector("#file-input", { state: "attached" });
  const started = performance.now();
  await page.setInputFiles("#file-input", file);
  await page.waitForSelector("#calltree .row, #load-error", { timeout: 600_000 });
  const failed = await page.$("#load-error");
  if (failed) throw new Error(await failed.innerText());
  await nextFrame(page);
  const first = performance.now() - started;
  await page.screenshot({ path: join(OUT, `${shot}.png`) });
  const tabbed = performance.now();
  await page.click("#tab-timeline");
  await page.waitForSelector("#timeline-canvas");
  await nextFrame(page);
  const timeline = performance.now() - tabbed;
  const windowOf = () => page.$eval("#timeline-canvas", (c) => c.dataset.window);
  const before = await windowOf();
  const frames = await frameTimes(page, "#timeline-canvas", async () => {
    if ((await windowOf()) === before) throw new Error("the timeline did not zoom");
    await page.screenshot({ path: join(OUT, `${shot}-zoomed.png`) });
  });
  const mem = await memory(page);
  return { first, timeline, frames, mem };
}

async function speedscope(page, file, shot) {
  const imported = new Promise((resolve, reject) => {
    page.on("console", (m) => {
      if (/^import: /.test(m.text())) resolve();
      if (/Failed to load/.test(m.text())) reject(new Error(m.text()));
    });
    page.on("crash", () => reject(new Error("the speedscope page crashed")));
  });
  await page.goto(base + "node_modules/speedscope/dist/release/index.html");
  await page.waitForSelector("input[type=file]", { state: "attached" });
  const started = performance.now();
  await page.setInputFiles("input[type=file]", file);
  await imported;
  await page.waitForSelector("canvas");
  await nextFrame(page);
  await nextFrame(page);
  const first = performance.now() - started;
  await page.screenshot({ path: join(OUT, `${shot}.png`) });
  // speedscope draws every view with WebGL into one canvas over the page, under the
  // canvases that place them; the last is the flame chart's. It publishes no view state:
  // the pixels must change.
  const chart = "canvas >> nth=-1";
  const clip = await page.locator(chart).boundingBox();
  const pixels = () => page.screenshot({ clip });
  const before = await pixels();
  const frames = await frameTimes(page, chart, async () => {
    const now = await pixels();
    if (now.equals(before)) throw new Error("speedscope did not zoom");
    writeFileSync(join(OUT, `${shot}-zoomed.png`), now);
  });
  const mem = await memory(page);
  return { first, frames, mem };
}

const ms = (v) => (v === undefined ? "" : `${Math.round(v).toLocaleString("en-US")} ms`);
const mb = (m) => `${Math.round(m.js + m.wasm).toLocaleString("en-US")} MB`;
const ratio = (a, b) => `${(a / b).toFixed(1)}×`;
const pad = (cells, widths) => cells.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ");
const WIDTHS = [30, 12, 12, 18, 10];

for (const samples of sampleCounts) {
  execFileSync("cargo", ["run", "-q", "--release", "--locked", "-p", "callscope-bench", "--bin",
    "synthetic-session", "--", "--samples", String(samples), OUT], { cwd: ROOT, stdio: "ignore" });
  const stem = join(OUT, `synthetic-${samples}`);
  const json = stem + ".speedscope.json";
  const sizeMb = (f) => (statSync(f).size / 1e6).toFixed(1);
  console.log(`\n${samples.toLocaleString("en-US")} samples, 4 threads ` +
    `(callscope session ${sizeMb(stem + ".pyisession")} MB, speedscope JSON ${sizeMb(json)} MB)`);
  console.log(pad(["", "first view", "+ timeline", "frame median/p90", "memory"], WIDTHS));
  const row = (name, r) => console.log(pad([name, ms(r.first), ms(r.timeline),
    `${ms(r.frames.median)} / ${ms(r.frames.p90)}`, mb(r.mem)], WIDTHS));
  const attempt = async (name, app, file, shot) => {
    const page = await newPage();
    try {
      const r = await app(page, file, shot);
      row(name, r);
      return r;
    } catch (e) {
      console.log(`${name.padEnd(WIDTHS[0])}  could not open it: ${e.message.split("\n")[0]}`);
      return null;
    } finally {
      await page.close().catch(() => {});
    }
  };
  await attempt("callscope, its session", callscope, stem + ".pyisession", `callscope-${samples}`);
  if (!withSpeedscope) continue;
  const oursJson = await attempt("callscope, speedscope JSON", callscope, json, `callscope-json-${samples}`);
  const theirs = await attempt("speedscope, speedscope JSON", speedscope, json, `speedscope-${samples}`);
  if (!oursJson || !theirs) continue;
  console.log(`speedscope ÷ callscope on the same JSON: first view ${ratio(theirs.first, oursJson.first)}, ` +
    `median frame ${ratio(theirs.frames.median, oursJson.frames.median)}, ` +
    `memory ${ratio(theirs.mem.js + theirs.mem.wasm, oursJson.mem.js + oursJson.mem.wasm)}`);
}
console.log(`\nscreenshots of each first view and of the zoomed views in ${OUT}`);

await browser.close();
server.close();
