// End-to-end tests of the viewer in real headless Chromium (Debian's), driven by
// playwright-core. Serves the repository over http on localhost, opens www/dist/.
//
//   node tests/viewer/e2e.mjs          (make test-viewer builds www/dist first)
//
// Screenshots of each state go to target/e2e/ for a person to look at.
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;
const OUT = join(ROOT, "target/e2e");
mkdirSync(OUT, { recursive: true });
const FIXTURE = "tests/fixtures/pyinstrument/mixed.pyisession";
const PORT = 8000 + Math.floor(Math.random() * 1000);

const server = spawn("python3", ["-m", "http.server", String(PORT), "--bind", "127.0.0.1"], {
  cwd: ROOT,
  stdio: "ignore",
});
const base = `http://127.0.0.1:${PORT}/www/dist/index.html`;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  // Playwright starts Chromium with a fresh temporary --user-data-dir of its own.
});

let failures = 0;
async function test(name, body, { allowedConsole = null } = {}) {
  const page = await browser.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !(allowedConsole && allowedConsole.test(m.text()))) {
      problems.push(`console: ${m.text()}`);
    }
  });
  try {
    await body(page);
    assert.deepEqual(problems, [], "the page reported errors");
    console.log(`ok   ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}\n${e.stack || e}`);
    await page.screenshot({ path: join(OUT, `FAILED-${name.replace(/\W+/g, "-")}.png`) }).catch(() => {});
  } finally {
    await page.close();
  }
}

async function waitForServer() {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(base)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the http server did not start");
}

async function open(page, query = "") {
  await page.goto(base + query);
  await page.waitForSelector(".bar");
}

/** Drops `bytes` as a file named `name` on the page, as a real drag-and-drop does. */
async function drop(page, name, bytes) {
  await page.evaluate(([name, b64]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name));
    const target = document.querySelector(".app");
    target.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, [name, Buffer.from(bytes).toString("base64")]);
}

const rowTexts = (page) =>
  page.$$eval("#calltree .row", (rows) => rows.map((r) => r.innerText.replace(/\s+/g, " ").trim()));

await waitForServer();

await test("file picker opens a session and the tree matches the terminal", async (page) => {
  await open(page);
  await page.setInputFiles("#file-input", join(ROOT, FIXTURE));
  await page.waitForSelector("#session-header");
  const header = await page.innerText("#session-header");
  assert.match(header, /scripts\/mixed\.py/);
  assert.match(header, /Samples\s*11/);
  const rows = await rowTexts(page);
  // The terminal (and pyinstrument) print: 0.139 <module> mixed.py:1 / 0.139 main mixed.py:27 / 0.101 pause
  assert.match(rows[0], /0\.139 100\.0% <module> mixed\.py:1/);
  assert.match(rows[1], /0\.139 100\.0% main mixed\.py:27/);
  assert.match(rows[2], /0\.101 72\.\d% pause mixed\.py:23/);
  await page.screenshot({ path: join(OUT, "calltree.png") });
});

await test("a dropped file opens; clicking collapses and expands", async (page) => {
  await open(page);
  await drop(page, "mixed.pyisession", readFileSync(join(ROOT, FIXTURE)));
  await page.waitForSelector("#session-header");
  const before = (await rowTexts(page)).length;
  await page.click("#calltree .row >> nth=1"); // collapse main
  assert.equal((await rowTexts(page)).length, 2);
  await page.click("#calltree .row >> nth=1");
  assert.equal((await rowTexts(page)).length, before);
});

await test("?url= fetches a session, and a failed fetch says why", async (page) => {
  await open(page, `?url=/${FIXTURE}`);
  await page.waitForSelector("#session-header");
  await open(page, "?url=/no/such/file.pyisession");
  const message = await (await page.waitForSelector("#load-error")).innerText();
  assert.match(message, /Could not fetch \/no\/such\/file\.pyisession: HTTP 404/);
}, { allowedConsole: /status of 404/ });

await test("bad files show a message and keep the previous session", async (page) => {
  await open(page);
  await drop(page, "mixed.pyisession", readFileSync(join(ROOT, FIXTURE)));
  await page.waitForSelector("#session-header");
  const good = gzipSync(Buffer.from('{"format":"callscope-session","version":[99,0]}'));
  const cases = [
    ["empty.pyisession", Buffer.alloc(0), /empty/],
    ["random.bin", Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919) % 251)), /not a profile/],
    ["truncated.pyisession", readFileSync(join(ROOT, FIXTURE)).subarray(0, 200), /gzip|truncated/],
    ["other.json", Buffer.from('{"traceEvents": 5, "name": "chrome"}'), /not a profile|invalid/],
    ["newer.pyisession", good, /newer callscope/],
  ];
  for (const [name, bytes, why] of cases) {
    await drop(page, name, bytes);
    await page.waitForFunction((n) => document.querySelector("#load-error")?.innerText.includes(n), name);
    const message = await page.innerText("#load-error");
    assert.match(message, new RegExp(name.replace(".", "\\.")));
    assert.match(message, why, message);
    assert.match(await page.innerText("#session-header"), /scripts\/mixed\.py/);
  }
  await page.screenshot({ path: join(OUT, "bad-file.png") });
});

await test("names from the profiled program are shown as text, never as HTML", async (page) => {
  const evil = "<img src=x onerror=\"window.pwned=1\">";
  const lines = `main;${evil} 5\nmain;other 3\n`;
  await open(page);
  await drop(page, "evil.txt", Buffer.from(lines));
  await page.waitForSelector("#session-header");
  assert.ok((await rowTexts(page)).some((r) => r.includes(evil)));
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await page.$("#calltree img"), null);
});

await browser.close();
server.kill();
if (failures) {
  console.log(`${failures} viewer test(s) failed; screenshots in ${OUT}`);
  process.exit(1);
}
console.log(`viewer tests passed; screenshots in ${OUT}`);
