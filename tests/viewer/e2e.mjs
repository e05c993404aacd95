// End-to-end tests of the viewer in real headless Chromium (Debian's), driven by
// playwright-core. Serves the repository over http on localhost, opens www/dist/.
//
//   node tests/viewer/e2e.mjs          (make test-viewer builds www/dist first)
//
// Screenshots of each state go to target/e2e/ for a person to look at.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import assert from "node:assert/strict";
import { ROOT, OUT, test, finish, drop, rowTexts, rowCells, timelinePoint, timelineAt } from "./harness.mjs";

const FIXTURE = "tests/fixtures/pyinstrument/mixed.pyisession";
const PORT = 8000 + Math.floor(Math.random() * 1000);

const server = spawn("python3", ["-m", "http.server", String(PORT), "--bind", "127.0.0.1"], {
  cwd: ROOT,
  stdio: "ignore",
});
const base = `http://127.0.0.1:${PORT}/www/dist/index.html`;

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

async function openFixture(page, hash = "") {
  await open(page, hash);
  await page.setInputFiles("#file-input", join(ROOT, FIXTURE));
  await page.waitForSelector("#session-header");
}

await waitForServer();

await test("file picker opens a session and the tree matches the terminal", async (page) => {
  await openFixture(page);
  const header = await page.innerText("#session-header");
  assert.match(header, /scripts\/mixed\.py/);
  assert.match(header, /Samples\s*11/);
  const rows = await rowCells(page);
  // The terminal (and pyinstrument) print: 0.139 <module> mixed.py:1 / 0.139 main mixed.py:27 / 0.101 pause
  assert.deepEqual(rows.slice(0, 3).map((r) => [r.total, r.pct, r.name, r.loc]), [
    ["0.139", "100.0%", "<module>", "mixed.py:1"],
    ["0.139", "100.0%", "main", "mixed.py:27"],
    ["0.101", "72.7%", "pause", "mixed.py:23"],
  ]);
  await page.screenshot({ path: join(OUT, "calltree.png") });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: join(OUT, "calltree-dark.png") });
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
  await page.click("#tab-functions");
  await page.click(`#function-table .frow:has-text('onerror')`);
  assert.match(await page.innerText("#func-detail h2"), /<img src=x onerror=/);
  await page.click("#tab-flame");
  const box = await (await page.waitForSelector("#flame-canvas")).boundingBox();
  await page.mouse.move(box.x + 5, box.y + 18 + 9); // main → the evil name, 5 of 8 samples
  assert.equal(await page.innerText("#flame-tooltip .tt-name"), evil);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await page.$("#callscope-app img"), null);
});

await test("keyboard: arrows move and open, Enter toggles, * opens everything below", async (page) => {
  await openFixture(page);
  await page.focus("#calltree");
  await page.keyboard.press("ArrowDown");
  let rows = await rowCells(page);
  assert.ok(rows[0].selected, "the first key selects the first row");
  await page.keyboard.press("ArrowLeft");
  assert.equal((await rowCells(page)).length, 1, "Left closes <module>");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowDown");
  rows = await rowCells(page);
  assert.equal(rows.find((r) => r.selected).name, "pause");
  await page.keyboard.press("Home");
  await page.keyboard.press("Enter");
  assert.equal((await rowCells(page)).length, 1, "Enter toggles");
  await page.keyboard.press("*");
  rows = await rowCells(page);
  assert.ok(rows.length > 10 && rows.every((r) => r.expanded !== "false" || r.name.includes("hidden")),
    JSON.stringify(rows));
  assert.ok(rows.some((r) => r.self && r.self !== ""), "a self-time column");
});

await test("flame graph: canvas at device pixels, tooltip, zoom and breadcrumb", async (page) => {
  await openFixture(page);
  await page.click("#tab-flame");
  const canvas = await page.waitForSelector("#flame-canvas");
  const size = await canvas.evaluate((c) => [c.width, c.clientWidth, c.height, c.clientHeight]);
  assert.equal(size[0], Math.round(size[1] * 2), `canvas at 2x: ${size}`);
  assert.equal(size[2], Math.round(size[3] * 2));
  const box = await canvas.boundingBox();
  // The top frame spans the width: <module>; below it main, then pause (72 % of the width).
  await page.mouse.move(box.x + 20, box.y + 9);
  let tip = await page.innerText("#flame-tooltip");
  assert.match(tip, /<module>/);
  assert.match(tip, /mixed\.py:1/);
  assert.match(tip, /total 0\.139 s \(100\.0%\)/);
  await page.mouse.move(box.x + 20, box.y + 18 * 2 + 9);
  assert.match(await page.innerText("#flame-tooltip"), /pause/);
  // Painted, and still painted with the tooltip up: most of the top frame's pixels are set.
  const painted = await page.$eval("#flame-canvas", (c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, 18 * 2).data;
    let set = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) set++;
    return set / (c.width * 18 * 2);
  });
  assert.ok(painted > 0.8, `top frame painted: ${painted}`);
  await page.screenshot({ path: join(OUT, "flame.png") });
  await page.mouse.click(box.x + 20, box.y + 18 * 2 + 9);
  const crumbs = await page.innerText("#flame-breadcrumb");
  assert.match(crumbs, /All\s*›\s*<module>\s*›\s*main\s*›\s*pause/);
  // Zoomed: pause now spans the width at the top.
  await page.mouse.move(box.x + box.width - 20, box.y + 9);
  assert.match(await page.innerText("#flame-tooltip"), /pause/);
  await page.screenshot({ path: join(OUT, "flame-zoomed.png") });
  await page.click("#flame-breadcrumb button:has-text('All')");
  await page.mouse.move(box.x + box.width - 20, box.y + 9);
  assert.match(await page.innerText("#flame-tooltip"), /<module>/);
}, { deviceScaleFactor: 2 });

await test("function table: sortable, with callers and callees", async (page) => {
  await openFixture(page);
  await page.click("#tab-functions");
  await page.waitForSelector("#function-table .frow");
  const table = () => page.$$eval("#function-table .frow", (rows) =>
    rows.map((r) => [...r.querySelectorAll("span")].map((s) => s.innerText)));
  let rows = await table();
  // As in the tree, the profiler's launcher frames (runpy) are left out.
  assert.deepEqual(rows[0].slice(1, 3), ["0.139", "<module>"]);
  await page.click("button.th:has-text('Self')");
  rows = await table();
  const self = rows.map((r) => Number(r[0]));
  assert.deepEqual(self, [...self].sort((a, b) => b - a));
  assert.equal(rows[0][2], "sleep", "sleep has the most self time");
  await page.click("button.th:has-text('Function')");
  const names = (await table()).map((r) => r[2].toLowerCase());
  assert.deepEqual(names, [...names].sort());
  await page.click("#function-table .frow:has-text('pause')");
  const detail = await page.innerText("#func-detail");
  assert.match(detail, /Called by\s*0\.101\s*main/);
  assert.match(detail, /Calls\s*0\.101\s*sleep/);
  await page.click("#func-detail li:has-text('main')");
  assert.match(await page.innerText("#func-detail h2"), /^main$/);
  await page.screenshot({ path: join(OUT, "functions.png") });
});

await test("search: Ctrl+F, highlights and jumps in every view", async (page) => {
  await openFixture(page);
  await page.click("#calltree");
  await page.keyboard.press("Control+f");
  assert.equal(await page.evaluate(() => document.activeElement.id), "search");
  await page.keyboard.type("decode");
  assert.match(await page.innerText("#search-count"), /^[2-9]\d* found$/);
  await page.keyboard.press("Enter");
  assert.match(await page.innerText("#search-count"), /^1 of \d+$/);
  // The match sits inside folded json frames: the jump opens them.
  let rows = await rowCells(page);
  assert.match(rows.find((r) => r.selected).name, /decode/);
  assert.ok(await page.$("#calltree .row.match"));
  await page.screenshot({ path: join(OUT, "search.png") });
  await page.click("#tab-functions");
  await page.click("#search-next");
  assert.match(await page.innerText("#function-table .frow.selected"), /decode/);
  await page.click("#tab-flame");
  await page.click("#search-next");
  assert.match(await page.innerText("#flame-breadcrumb"), /Show \S*decode in the call tree/);
  await page.click("#flame-breadcrumb .reveal");
  rows = await rowCells(page);
  assert.match(rows.find((r) => r.selected).name, /decode/);
});

await test("settings: library code, inverted, percent and threshold", async (page) => {
  await openFixture(page);
  const all = async () => {
    await page.focus("#calltree");
    await page.keyboard.press("Home");
    await page.keyboard.press("*");
    return rowCells(page);
  };
  let rows = await all();
  assert.ok(rows.some((r) => /frames hidden/.test(r.name)));
  await page.uncheck("#opt-libraries");
  rows = await all();
  assert.ok(!rows.some((r) => /frames hidden/.test(r.name)));
  assert.ok(rows.some((r) => r.name === "JSONDecoder.raw_decode"));
  await page.check("#opt-percent");
  rows = await rowCells(page);
  assert.equal(rows[0].total, "100.0%");
  await page.uncheck("#opt-percent");
  await page.fill("#opt-threshold", "30");
  await page.press("#opt-threshold", "Enter");
  const coarse = await all();
  assert.ok(coarse.length < rows.length, `${coarse.length} < ${rows.length}`);
  await page.check("#opt-inverted");
  rows = await rowCells(page);
  // Bottom up: the top rows are where time was spent (sleep's 0.101 s first).
  assert.deepEqual([rows[0].name, rows[0].total], ["sleep", "0.101"]);
  await page.screenshot({ path: join(OUT, "inverted.png") });
});

await test("collapse recursion folds a function's calls of itself into one row, and the hash records the choice", async (page) => {
  await open(page, "#view=tree&threshold=0");
  await drop(page, "recursion.txt", Buffer.from("main;r;r;r;r;r;leaf 5\nmain;r;r;other 3\n"));
  await page.waitForSelector("#session-header");
  const all = async () => {
    await page.focus("#calltree");
    await page.keyboard.press("Home");
    await page.keyboard.press("*");
    return rowCells(page);
  };
  // On by default, as in the terminal: r's five levels are one row, its callees beneath.
  assert.ok(await page.isChecked("#opt-recursion"));
  let rows = await all();
  assert.deepEqual(rows.map((r) => r.name), ["main", "r", "leaf", "other"]);
  assert.match(await page.innerText("#calltree"), /\[× 4 recursive calls\]/);
  await page.uncheck("#opt-recursion");
  rows = await all();
  assert.deepEqual(rows.map((r) => r.name), ["main", "r", "r", "r", "r", "r", "leaf", "other"]);
  assert.doesNotMatch(await page.innerText("#calltree"), /recursive calls/);
  // The hash is written at most five times a second, so that dragging does not flood history.
  await page.waitForURL(/recursion=1/);
});

await test("the URL hash brings a reload back to the same view and selection", async (page) => {
  await open(page, `?url=/${FIXTURE}`);
  await page.waitForSelector("#session-header");
  await page.fill("#search", "raw_decode");
  await page.press("#search", "Enter");
  await page.check("#opt-percent");
  await page.click("#tab-functions");
  await page.waitForURL(/#view=functions&percent=1&sel=n\d+&q=raw_decode/);
  const url = page.url();
  await page.reload();
  await page.waitForSelector("#function-table .frow");
  assert.equal(page.url(), url);
  assert.equal(await page.inputValue("#search"), "raw_decode");
  assert.ok(await page.isChecked("#opt-percent"));
  await page.click("#tab-tree");
  const rows = await rowCells(page);
  assert.equal(rows.find((r) => r.selected).name, "JSONDecoder.raw_decode");
});

/**
 * Two threads with known phases, as speedscope JSON: `main;a` for 0.2 s, then `main;b` for
 * 0.3 s, sampled every 10 ms.
 */
function phases() {
  const frames = [
    { name: "main", file: "app.py", line: 1 },
    { name: "a", file: "app.py", line: 10 },
    { name: "b", file: "app.py", line: 20 },
  ];
  const profile = (name) => {
    const samples = [], weights = [];
    for (let i = 0; i < 20; i++) { samples.push([0, 1]); weights.push(10); }
    for (let i = 0; i < 30; i++) { samples.push([0, 2]); weights.push(10); }
    return { type: "sampled", name, unit: "milliseconds", startValue: 0, endValue: 500, samples, weights };
  };
  return Buffer.from(JSON.stringify({
    $schema: "https://www.speedscope.app/file-format-schema.json",
    shared: { frames },
    profiles: [profile("MainThread"), profile("worker")],
  }));
}

async function openPhases(page, hash = "#view=timeline") {
  await page.setViewportSize({ width: 1200, height: 700 });
  await open(page, hash);
  await drop(page, "phases.json", phases());
  await page.waitForSelector("#timeline-canvas");
}

const canvasWindow = (page) =>
  page.$eval("#timeline-canvas", (c) => c.dataset.window.split("-").map(Number));

await test("timeline: each thread's phases in order and in proportion, read back by hit-testing", async (page) => {
  await openPhases(page);
  assert.deepEqual(await canvasWindow(page), [0, 500000]);
  for (const thread of [0, 1]) {
    assert.match(await timelineAt(page, thread, 0, 250000), /^main\napp\.py:1\n500\.00 ms from 0\.000 s/);
    // a for the first 0.2 s, b for the 0.3 s after it: the boundary is at 40 % of the width.
    for (const us of [5000, 100000, 195000]) {
      assert.match(await timelineAt(page, thread, 1, us), /^a\napp\.py:10\n200\.00 ms from 0\.000 s/);
    }
    for (const us of [205000, 350000, 495000]) {
      assert.match(await timelineAt(page, thread, 1, us), /^b\napp\.py:20\n300\.00 ms from 0\.200 s/);
    }
  }
  assert.match(await timelineAt(page, 1, 1, 100000), /worker$/);
  // The first lane's header, above its first row.
  const { x, y } = await timelinePoint(page, 0, 0, 0);
  await page.screenshot({ path: join(OUT, "timeline.png") });
  // The lane header's background follows the system's colour scheme as it changes.
  const headerLight = () => page.$eval("#timeline-canvas", (c) => {
    const y = Number(c.dataset.lanes.split(",")[0].split(":")[1]) - 15;
    const [r, g, b] = c.getContext("2d").getImageData(c.width - 20, y, 1, 1).data;
    return (r + g + b) / 3;
  });
  assert.ok((await headerLight()) > 200);
  await page.emulateMedia({ colorScheme: "dark" });
  await page.waitForFunction(() => {
    const c = document.querySelector("#timeline-canvas");
    const y = Number(c.dataset.lanes.split(",")[0].split(":")[1]) - 15;
    const [r, g, b] = c.getContext("2d").getImageData(c.width - 20, y, 1, 1).data;
    return (r + g + b) / 3 < 80;
  });
  await page.screenshot({ path: join(OUT, "timeline-dark.png") });
  await page.emulateMedia({ colorScheme: "light" });
  // Clicking a span shows its stack; from there the call tree opens on it.
  const b = await timelinePoint(page, 1, 1, 300000);
  await page.mouse.click(b.x, b.y);
  const detail = await page.innerText("#timeline-detail");
  assert.match(detail, /^b\napp\.py:20/);
  assert.match(detail, /Stack \(worker\)\s*b\s*app\.py:20\s*main\s*app\.py:1/);
  await page.screenshot({ path: join(OUT, "timeline-selected.png") });
  await page.click("#timeline-reveal");
  await page.waitForSelector("#calltree .row.selected");
  assert.equal((await rowCells(page)).find((r) => r.selected).name, "b");
  // Above the lanes, a click on a lane header folds it: the worker's rows move up.
  await page.click("#tab-timeline");
  const before = await page.$eval("#timeline-canvas", (c) => c.dataset.lanes);
  await page.mouse.click(x + 40, y - 23);
  await page.waitForFunction((before) => document.querySelector("#timeline-canvas").dataset.lanes !== before, before);
});

await test("timeline: a range dragged on the time axis limits the tree and function table, and shows a chip that clears it", async (page) => {
  await openPhases(page);
  // Across the axis from 0.25 s to the end: only b ran then.
  const start = await timelinePoint(page, 0, 0, 250000);
  const end = await timelinePoint(page, 0, 0, 500000);
  const axisY = (await page.$eval("#timeline-canvas", (c) => c.getBoundingClientRect().top)) + 46;
  await page.mouse.move(start.x, axisY);
  await page.mouse.down();
  await page.mouse.move(end.x - 1, axisY, { steps: 5 });
  await page.mouse.up();
  assert.match(await page.innerText("#range-chip"), /^0\.25\d s – 0\.(49\d|500) s/);
  await page.screenshot({ path: join(OUT, "timeline-range.png") });
  await page.click("#tab-tree");
  await page.focus("#calltree");
  await page.keyboard.press("Home");
  await page.keyboard.press("*");
  let names = (await rowCells(page)).map((r) => r.name);
  assert.ok(names.includes("b") && !names.includes("a"), `${names}`);
  await page.click("#tab-functions");
  await page.waitForSelector("#function-table .frow");
  names = await page.$$eval("#function-table .frow", (rows) => rows.map((r) => r.querySelectorAll("span")[2].innerText));
  assert.deepEqual(names.sort(), ["b", "main"]);
  // Kept in the hash: a reload shows the same range.
  await page.waitForURL((u) => /view=functions/.test(u.hash) && /range=25\d+-(49\d+|500000)/.test(u.hash));
  await page.reload();
  await page.waitForSelector(".bar");
  await drop(page, "phases.json", phases());
  await page.waitForSelector("#function-table .frow");
  assert.match(await page.innerText("#range-chip"), /^0\.25\d s – 0\.(49\d|500) s/);
  await page.click("#range-clear");
  assert.equal(await page.$("#range-chip"), null);
  names = await page.$$eval("#function-table .frow", (rows) => rows.map((r) => r.querySelectorAll("span")[2].innerText));
  assert.deepEqual(names.sort(), ["a", "b", "main"]);
});

await test("timeline: zoom and pan keys move the visible window, 0 resets it, and a reload keeps it", async (page) => {
  await openPhases(page);
  await page.focus("#timeline-canvas");
  await page.keyboard.press("+");
  let [from, to] = await canvasWindow(page);
  assert.ok(from > 0 && to < 500000 && to - from < 500000, `zoomed in: ${from}-${to}`);
  const width = to - from;
  await page.keyboard.press("d");
  const [from2, to2] = await canvasWindow(page);
  assert.ok(from2 > from && Math.abs(to2 - from2 - width) < 2, `panned right: ${from2}-${to2}`);
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("ArrowLeft");
  assert.ok((await canvasWindow(page))[0] < from2);
  await page.keyboard.press("-");
  assert.ok((await canvasWindow(page)).reduce((a, b) => b - a) > width);
  // Zoomed in around a: a now spans the whole width.
  await page.keyboard.press("0");
  assert.deepEqual(await canvasWindow(page), [0, 500000]);
  for (let i = 0; i < 4; i++) await page.keyboard.press("+");
  for (let i = 0; i < 20; i++) await page.keyboard.press("a");
  const zoomed = await canvasWindow(page);
  assert.equal(zoomed[0], 0, "panning stops at the start");
  assert.match(await timelineAt(page, 0, 1, zoomed[1] - 1000), /^a\n/);
  await page.waitForURL(/window=0-\d+/);
  await page.reload();
  await page.waitForSelector(".bar");
  await drop(page, "phases.json", phases());
  await page.waitForSelector("#timeline-canvas");
  const restored = await canvasWindow(page);
  assert.ok(restored[0] === 0 && Math.abs(restored[1] - zoomed[1]) <= 1, `${restored} after ${zoomed}`);
  // Double-click on a span fits the window to it, with a little room either side.
  await page.focus("#timeline-canvas");
  await page.keyboard.press("0");
  const b = await timelinePoint(page, 0, 1, 300000);
  await page.mouse.dblclick(b.x, b.y);
  const [f, t] = await canvasWindow(page);
  assert.ok(f < 200000 && f > 150000 && t === 500000, `fitted to b: ${f}-${t}`);
});

await test("timeline: a two-finger pinch on a touch screen zooms about the fingers", async (page) => {
  await openPhases(page);
  const c = await page.$eval("#timeline-canvas", (c) => {
    const r = c.getBoundingClientRect();
    return { left: r.left, width: r.width };
  });
  const y = (await timelinePoint(page, 0, 1, 0)).y;
  const at = (share) => c.left + share * c.width;
  const cdp = await page.context().newCDPSession(page);
  const touch = (type, a, b) => cdp.send("Input.dispatchTouchEvent", {
    type,
    touchPoints: type === "touchEnd" ? [] : [{ x: at(a), y, id: 1 }, { x: at(b), y, id: 2 }],
  });
  // Down on 0.2 s and 0.3 s (40 % and 60 %), spread to 20 % and 80 %: those two times then
  // lie there, so the window is 0.1 s wide over 0.6 of the width: 1/6 s from 1/6 s.
  await touch("touchStart", 0.4, 0.6);
  for (const step of [0.25, 0.5, 0.75, 1]) {
    await touch("touchMove", 0.4 - 0.2 * step, 0.6 + 0.2 * step);
  }
  await touch("touchEnd");
  const [from, to] = await canvasWindow(page);
  assert.ok(Math.abs(from - 166667) < 2000 && Math.abs(to - 333333) < 2000, `pinched to ${from}-${to}`);
  assert.equal(await page.$("#timeline-detail"), null, "a pinch selects nothing");
}, { hasTouch: true });

await test("timeline: forty threads show a pool of similar threads as one folded group lane that opens", async (page) => {
  // MainThread, 36 pool threads and three of their own: more lanes than fit, so the pool
  // starts folded.
  const names = ["MainThread", ...Array.from({ length: 36 }, (_, i) => `ThreadPoolExecutor-0_${i}`),
    "writer-1", "writer-2", "reader"];
  const frames = [{ name: "main", file: "app.py", line: 1 }, { name: "job", file: "app.py", line: 5 }];
  const doc = {
    $schema: "https://www.speedscope.app/file-format-schema.json",
    shared: { frames },
    profiles: names.map((name) => ({
      type: "sampled", name, unit: "milliseconds", startValue: 0, endValue: 100,
      samples: Array.from({ length: 10 }, () => [0, 1]), weights: Array(10).fill(10),
    })),
  };
  await page.setViewportSize({ width: 1200, height: 700 });
  await open(page, "#view=timeline");
  await drop(page, "pool.json", Buffer.from(JSON.stringify(doc)));
  await page.waitForSelector("#timeline-canvas");
  const data = () => page.$eval("#timeline-canvas", (c) => ({ lanes: c.dataset.lanes, groups: c.dataset.groups }));
  const lanesOf = (d) => d.lanes.split(",").map((l) => Number(l.split(":")[0]));
  let d = await data();
  assert.deepEqual(lanesOf(d), [0, 37, 38, 39], "the pool's lanes are folded away");
  const [first, y] = d.groups.split(":").map(Number);
  assert.equal(first, 1);
  await page.screenshot({ path: join(OUT, "timeline-group.png") });
  const box = await page.locator("#timeline-canvas").boundingBox();
  await page.mouse.click(box.x + 40, box.y + y);
  await page.waitForFunction((before) => document.querySelector("#timeline-canvas").dataset.lanes !== before, d.lanes);
  d = await data();
  assert.deepEqual(lanesOf(d), [0, ...Array.from({ length: 36 }, (_, i) => i + 1), 37, 38, 39]);
  assert.match(await timelineAt(page, 5, 1, 50000), /^job\napp\.py:5\n/);
});

await test("a tree of 100,000 nodes keeps only visible rows in the page", async (page) => {
  // main → f0..f999 → g0..g99: 101,001 nodes, one sample each.
  const lines = [];
  for (let i = 0; i < 1000; i++) for (let j = 0; j < 100; j++) lines.push(`main;f${i};g${j} 1`);
  await open(page, "#view=tree&threshold=0");
  await drop(page, "wide.txt", Buffer.from(lines.join("\n")));
  await page.waitForSelector("#session-header", { timeout: 60000 });
  await page.focus("#calltree");
  await page.keyboard.press("Home");
  const started = Date.now();
  await page.keyboard.press("*");
  await page.waitForFunction(() => document.querySelector("#calltree").dataset.rows === "101001",
    null, { timeout: 60000 });
  const height = await page.$eval("#calltree .vlist-space", (e) => e.getBoundingClientRect().height);
  assert.ok(Math.abs(height - 101001 * 22) < 22, `${height}`);
  assert.ok((await page.$$("#calltree .row")).length < 200);
  console.log(`     (expanding 101,001 rows took ${Date.now() - started} ms)`);
  await page.keyboard.press("End");
  const rows = await rowCells(page);
  const last = rows.find((r) => r.selected);
  assert.equal(last.name, "g99");
  assert.ok((await page.$$("#calltree .row")).length < 200);
  await page.screenshot({ path: join(OUT, "wide-tree-end.png") });
});

server.kill();
await finish("viewer");
