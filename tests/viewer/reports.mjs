// End-to-end tests of the single-file HTML report and the standalone viewer: files written
// by the real `callscope` command, opened from file:// with the network off.
//
//   CALLSCOPE=.venv/bin/callscope node tests/viewer/reports.mjs   (make test-viewer)
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import assert from "node:assert/strict";
import { ROOT, OUT, test, finish, drop, rowCells, timelineAt } from "./harness.mjs";

const CALLSCOPE = process.env.CALLSCOPE || join(ROOT, ".venv/bin/callscope");
const PROGRAMS = join(ROOT, "tests/viewer/programs");

function callscope(...args) {
  return execFileSync(CALLSCOPE, args, { cwd: ROOT, encoding: "utf-8", stdio: ["ignore", "pipe", "pipe"] });
}

/** (time, name) of the first `n` function lines of the terminal's call tree. */
function terminalTop(text, n) {
  return text.split("\n")
    .map((l) => l.match(/^[\s│├└─|`-]*(\d+\.\d{3}) (\S+)  /))
    .filter(Boolean)
    .slice(0, n)
    .map((m) => [m[1], m[2]]);
}

/** work.py's two phases in its timeline: crunch for about the first half, then wait. */
async function timelineSpans(target) {
  const [from, to] = await target.$eval("#timeline-canvas", (c) => c.dataset.window.split("-").map(Number));
  const at = (share) => timelineAt(target, 0, 2, from + share * (to - from));
  assert.match(await at(0.1), /^crunch\nwork\.py:6\n/);
  assert.match(await at(0.9), /^wait\nwork\.py:13\n/);
}

async function openReport(page, path) {
  await page.goto(pathToFileURL(path).href);
  await page.waitForSelector("#calltree .row", { timeout: 120000 });
}

await test("a report from `callscope -r html` opens from file:// offline with the terminal's top rows", async (page) => {
  const report = join(OUT, "report.html");
  callscope("-r", "html", "-o", report, join(PROGRAMS, "work.py"));
  const html = readFileSync(report, "utf-8");
  assert.ok(!/<(script|link)[^>]+(src|href)="(?!data:)/.test(html), "nothing is loaded from outside the file");
  await openReport(page, report);
  const expected = terminalTop(callscope("--load", report, "--no-color"), 3);
  assert.equal(expected.length, 3);
  const rows = (await rowCells(page)).slice(0, 3).map((r) => [r.total, r.name]);
  assert.deepEqual(rows, expected);
  assert.ok(expected.some(([, name]) => name === "crunch") || (await rowCells(page)).some((r) => r.name === "crunch"));
  assert.match(await page.title(), /work\.py \(\d+\.\d\d s\) · callscope/);
  await page.screenshot({ path: join(OUT, "report.png") });
  await page.click("#tab-flame");
  await page.waitForSelector("#flame-canvas");
  await page.screenshot({ path: join(OUT, "report-flame.png") });
  // Opened on its timeline: crunch, then the sleep, in the main thread's lane.
  await page.goto("about:blank");
  await page.goto(pathToFileURL(report).href + "#view=timeline");
  await page.waitForSelector("#timeline-canvas");
  await timelineSpans(page);
  await page.screenshot({ path: join(OUT, "report-timeline.png") });
}, { offline: true });

await test("the standalone viewer from `callscope viewer` waits for a file and opens a dropped one", async (page) => {
  const viewer = join(OUT, "viewer.html");
  callscope("viewer", "-o", viewer);
  await page.goto(pathToFileURL(viewer).href);
  await page.waitForSelector("main.empty");
  await drop(page, "mixed.pyisession", readFileSync(join(ROOT, "tests/fixtures/pyinstrument/mixed.pyisession")));
  await page.waitForSelector("#session-header");
  assert.deepEqual((await rowCells(page)).slice(0, 2).map((r) => [r.total, r.name]),
    [["0.139", "<module>"], ["0.139", "main"]]);
  await page.screenshot({ path: join(OUT, "viewer-standalone.png") });
}, { offline: true });

await test("names from the profiled program stay text in a report", async (page) => {
  const evil = '</script><script>window.pwned=1</script><img src=x onerror="window.pwned=2">';
  const report = join(OUT, "report-evil.html");
  callscope("-r", "html", "-o", report, join(PROGRAMS, "evil.py"));
  const html = readFileSync(report, "utf-8");
  assert.ok(!html.includes("pwned"), "the names are only inside the base64 session");
  await openReport(page, report);
  await page.focus("#calltree");
  await page.keyboard.press("Home");
  await page.keyboard.press("*");
  const rows = await rowCells(page);
  assert.ok(rows.some((r) => r.name === evil), JSON.stringify(rows));
  assert.ok(rows.some((r) => r.loc.includes("</script><script>")), "the file name too");
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await page.$("#callscope-app img"), null);
}, { offline: true });

await test("a report of 1,000,000 samples opens and draws the call tree", async (page) => {
  const lines = [];
  // 60,000 distinct call paths (20 stages × 60 steps × 50 leaves), as a long real run has.
  // (Steps and leaves of 997 and 3,001 values made every sample a path of its own.)
  for (let i = 0; i < 1_000_000; i++) {
    lines.push(`main;stage${i % 20};step${((i * 7) % 997) % 60};leaf${((i * 13) % 3001) % 50} 1`);
  }
  const stacks = join(OUT, "million.txt");
  writeFileSync(stacks, lines.join("\n"));
  const report = join(OUT, "report-million.html");
  callscope("--load", stacks, "-r", "html", "-o", report);
  const started = Date.now();
  await openReport(page, report);
  const header = await page.innerText("#session-header");
  assert.match(header, /Samples\s*1000000/);
  const rows = await rowCells(page);
  assert.equal(rows[0].name, "main");
  assert.equal(rows[0].pct, "100.0%");
  console.log(`     (${(statSync(report).size / 1e6).toFixed(1)} MB report drawn in ${Date.now() - started} ms)`);
}, { offline: true });

// The policy docs/embedding.md gives for the viewer page, and a strict one for the host.
const VIEWER_CSP = "default-src 'none'; script-src 'unsafe-inline' 'wasm-unsafe-eval'; " +
  "style-src 'unsafe-inline'; connect-src 'self'; img-src data:";
const PAGE_CSP = "default-src 'self'; script-src 'self'; frame-src 'self'; style-src 'self' 'unsafe-inline'";

await test("a docs page with three embeds shows each profile in its own viewer and view, in the page's theme", async (page) => {
  const site = join(OUT, "docs-site");
  rmSync(site, { recursive: true, force: true });
  mkdirSync(join(site, "profiles"), { recursive: true });
  callscope("viewer", "--embed", join(site, "_static"));
  const viewerPath = join(site, "_static/callscope-viewer.html");
  writeFileSync(viewerPath, readFileSync(viewerPath, "utf-8").replace(
    "<head>", `<head>\n<meta http-equiv="Content-Security-Policy" content="${VIEWER_CSP}">`));
  copyFileSync(join(ROOT, "tests/fixtures/pyinstrument/mixed.pyisession"), join(site, "profiles/mixed.pyisession"));
  callscope("-r", "session", "-o", join(site, "profiles/work.pyisession"), join(PROGRAMS, "work.py"));
  copyFileSync(join(site, "profiles/work.pyisession"), join(site, "profiles/timeline.pyisession"));
  writeFileSync(join(site, "index.html"), `<!doctype html>
<html lang="en" data-theme="dark">
<head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${PAGE_CSP}">
<title>Docs</title></head>
<body style="background:#111;color:#eee;font-family:sans-serif">
<h1>Profiling our parser</h1>
<div class="callscope-embed" data-src="profiles/mixed.pyisession" data-view="flame" data-height="300"></div>
<div class="callscope-embed" data-src="profiles/work.pyisession" data-search="crunch" data-height="300"></div>
<div class="callscope-embed" data-src="profiles/timeline.pyisession" data-view="timeline" data-height="300"></div>
<script src="_static/callscope-embed.js"></script>
</body></html>`);
  const port = 9000 + Math.floor(Math.random() * 1000);
  const server = spawn("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1"], { cwd: site, stdio: "ignore" });
  try {
    const outside = [];
    await page.context().route((url) => url.hostname !== "127.0.0.1", (route) => {
      outside.push(route.request().url());
      route.abort();
    });
    for (let i = 0; ; i++) {
      try {
        await page.goto(`http://127.0.0.1:${port}/index.html`);
        break;
      } catch (e) {
        if (i > 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await page.waitForFunction(() => document.querySelectorAll("iframe").length === 3);
    const frameFor = async (name) => {
      for (let i = 0; i < 100; i++) {
        const f = page.frames().find((f) => f.url().includes(name));
        if (f) return f;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no frame for ${name}`);
    };
    const one = await frameFor("mixed.pyisession");
    const two = await frameFor("work.pyisession");
    const three = await frameFor("timeline.pyisession");
    await one.waitForSelector("#flame-canvas");
    await two.waitForSelector("#calltree .row");
    assert.match(await one.innerText("#session-header"), /scripts\/mixed\.py/);
    assert.match(await two.innerText("#session-header"), /work\.py/);
    assert.equal(await two.inputValue("#search"), "crunch");
    assert.match(await two.innerText("#search-count"), /found/);
    assert.ok(await two.$("#calltree .row.match"), "crunch is highlighted");
    assert.equal(await one.$(".bar:visible"), null, "no file bar when embedded");
    await three.waitForSelector("#timeline-canvas");
    await (await three.frameElement()).scrollIntoViewIfNeeded();
    await timelineSpans(three);
    for (const f of [one, two, three]) {
      assert.equal(await f.evaluate(() => document.documentElement.dataset.theme), "dark");
    }
    await page.screenshot({ path: join(OUT, "embed-dark.png") });
    await page.evaluate(() => {
      document.documentElement.dataset.theme = "light";
      document.body.style.cssText = "background:#fff;color:#111;font-family:sans-serif";
    });
    for (const f of [one, two, three]) {
      await f.waitForFunction(() => document.documentElement.dataset.theme === "light");
    }
    await page.screenshot({ path: join(OUT, "embed-light.png") });
    assert.deepEqual(outside, []);
  } finally {
    server.kill();
  }
});

await test("a speedscope export opens in the speedscope app with each thread's total", async (page) => {
  const session = join(OUT, "threads.pyisession");
  const exported = join(OUT, "threads.speedscope.json");
  callscope("-r", "session", "-o", session, join(PROGRAMS, "threads.py"));
  callscope("--load", session, "-r", "speedscope", "-o", exported);
  // What callscope recorded: each thread's wall time, in milliseconds.
  const python = join(dirname(CALLSCOPE), "python");
  const expected = JSON.parse(execFileSync(python, ["-c",
    "import callscope, json, sys; s = callscope.Session.load(sys.argv[1]); " +
    "print(json.dumps({t['name']: t['wall_time'] * 1000 for t in s.threads}))", session], { encoding: "utf-8" }));
  assert.deepEqual(Object.keys(expected).sort(), ["MainThread", "worker"]);
  // The app from npm, opened from file:// as toolchain-notes.md says.
  const loader = join(OUT, "speedscope-load.js");
  const b64 = readFileSync(exported).toString("base64");
  writeFileSync(loader, `speedscope.loadFileFromBase64("threads.speedscope.json", "${b64}")`);
  const app = join(ROOT, "node_modules/speedscope/dist/release/index.html");
  const imported = page.waitForEvent("console", { predicate: (m) => /^import: /.test(m.text()), timeout: 60000 });
  await page.goto(`${pathToFileURL(app).href}#localProfilePath=${loader}`);
  await imported;
  // A duration as speedscope prints it, in ms, with the step of its last digit.
  const ms = (text) => {
    const m = text.match(/^(\d+)(?:\.(\d+))?(ns|µs|us|ms|s|m)$/);
    assert.ok(m, `a duration: ${text}`);
    const scale = { ns: 1e-6, "µs": 1e-3, us: 1e-3, ms: 1, s: 1000, m: 60000 }[m[3]];
    return { value: Number(`${m[1]}.${m[2] || 0}`) * scale, step: 10 ** -(m[2] || "").length * scale };
  };
  await page.getByText("Sandwich").click();
  const seen = {};
  for (let i = 0; i < 2; i++) {
    // Every sample is under the thread's root: the sandwich's largest total is the profile's.
    await page.waitForFunction(() => document.body.innerText.includes("Symbol Name"));
    const text = await page.evaluate(() => document.body.innerText);
    const name = text.match(/^(\S+) \(\d+\) \(\d\/2\)$/m)[1];
    const totals = [...text.matchAll(/^([\d.]+(?:ns|µs|us|ms|s|m)) \([\d.<]+%\)$/gm)].map((m) => ms(m[1]));
    seen[name] = totals.reduce((a, b) => (b.value > a.value ? b : a));
    await page.screenshot({ path: join(OUT, `speedscope-${name}.png`) });
    await page.keyboard.press("n");
  }
  assert.deepEqual(Object.keys(seen).sort(), ["MainThread", "worker"]);
  for (const [name, total] of Object.entries(seen)) {
    assert.ok(Math.abs(total.value - expected[name]) <= total.step / 2 + 1e-9,
      `${name}: speedscope ${total.value} ms, callscope ${expected[name]} ms`);
  }
  assert.doesNotMatch(await page.evaluate(() => document.body.innerText), /Something went wrong/);
}, { offline: true });

await finish("report");
