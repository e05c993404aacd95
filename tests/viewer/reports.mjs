// End-to-end tests of the single-file HTML report and the standalone viewer: files written
// by the real `callscope` command, opened from file:// with the network off.
//
//   CALLSCOPE=.venv/bin/callscope node tests/viewer/reports.mjs   (make test-viewer)
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import assert from "node:assert/strict";
import { ROOT, OUT, test, finish, drop, rowCells } from "./harness.mjs";

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
  for (let i = 0; i < 1_000_000; i++) lines.push(`main;stage${i % 20};step${i % 13} 1`);
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

await finish("report");
