// Shared by the end-to-end tests: headless Chromium (Debian's) through playwright-core,
// a test runner that fails on any page error or console error, and the helpers every test
// file uses. Screenshots go to target/e2e/ for a person to look at.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const OUT = join(ROOT, "target/e2e");
mkdirSync(OUT, { recursive: true });

export const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  // Playwright starts Chromium with a fresh temporary --user-data-dir of its own.
});

let failures = 0;

/**
 * Runs one test in a fresh page. `offline`: the network is off and any request that is not
 * for a file:// URL is refused (and fails the test).
 */
export async function test(name, body, { allowedConsole = null, deviceScaleFactor = 1, offline = false, hasTouch = false } = {}) {
  const context = await browser.newContext({ deviceScaleFactor, offline, hasTouch });
  const page = await context.newPage();
  const problems = [];
  if (offline) {
    await context.route((url) => url.protocol !== "file:", (route) => {
      problems.push(`network request: ${route.request().url()}`);
      route.abort();
    });
  }
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
    await context.close();
  }
}

/** Closes the browser and exits non-zero if any test failed. */
export async function finish(what) {
  await browser.close();
  if (failures) {
    console.log(`${failures} ${what} test(s) failed; screenshots in ${OUT}`);
    process.exit(1);
  }
  console.log(`${what} tests passed; screenshots in ${OUT}`);
}

/** Drops `bytes` as a file named `name` on the page, as a real drag-and-drop does. */
export async function drop(page, name, bytes) {
  await page.evaluate(([name, b64]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name));
    const target = document.querySelector(".app");
    target.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, [name, Buffer.from(bytes).toString("base64")]);
}

export const rowTexts = (page) =>
  page.$$eval("#calltree .row", (rows) => rows.map((r) => r.innerText.replace(/\s+/g, " ").trim()));

/** The call tree's rows as {total, pct, self, name, loc}, the columns the terminal prints. */
export const rowCells = (page) =>
  page.$$eval("#calltree .row", (rows) => rows.map((r) => ({
    total: r.querySelector(".time")?.innerText,
    pct: r.querySelector(".pct")?.innerText,
    self: r.querySelector(".self-time")?.innerText,
    name: r.querySelector(".name, .group")?.innerText,
    loc: r.querySelector(".loc")?.innerText ?? "",
    selected: r.classList.contains("selected"),
    expanded: r.getAttribute("aria-expanded"),
  })));

/**
 * Where the timeline of `target` (a page, or the frame of an embed) draws time `us` at
 * `depth` of a thread's lane, in page coordinates, from what the canvas publishes: its
 * visible window, each lane's first row and the row height.
 */
export async function timelinePoint(target, thread, depth, us) {
  const c = await target.$eval("#timeline-canvas", (c) => {
    const r = c.getBoundingClientRect();
    return { left: r.left, top: r.top, width: r.width, ...c.dataset };
  });
  const frame = target.parentFrame && target.parentFrame() ? await (await target.frameElement()).boundingBox() : { x: 0, y: 0 };
  const [from, to] = c.window.split("-").map(Number);
  const lanes = Object.fromEntries(c.lanes.split(",").map((l) => l.split(":").map(Number)));
  const row = Number(c.rowHeight);
  return {
    x: frame.x + c.left + ((us - from) / (to - from)) * c.width,
    y: frame.y + c.top + lanes[thread] + depth * row + row / 2,
  };
}

/** The tooltip the timeline of `target` shows at time `us`, depth `depth` of `thread`'s lane. */
export async function timelineAt(target, thread, depth, us) {
  const { x, y } = await timelinePoint(target, thread, depth, us);
  await (target.page ? target.page() : target).mouse.move(x, y);
  await target.waitForSelector("#timeline-tooltip:not([hidden])");
  return target.innerText("#timeline-tooltip");
}
