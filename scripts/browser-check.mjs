// Opens an HTML report page in headless Chromium over the DevTools protocol
// (`--remote-debugging-pipe`: no WebSocket, no npm package, no download),
// fails on any console error (a script the page's policy refuses is one),
// uncaught exception, error log entry, network request that leaves the
// file, or <script> element other than the report's own (`#pa-script`, which
// must have run) and its inline JSON data; measures the time from
// navigation to the first frame drawn after the load event, and saves a
// screenshot of the top of the page.
//
// usage: node browser-check.mjs CHROMIUM PAGE.html SHOT.png [--expect-errors] [--max-ms N] [--no-script]
// With --expect-errors the check must find an error (a self-test of the check).
// With --max-ms N the page fails when it takes longer than N ms to load.
// With --no-script the page is opened with scripts disabled and must show
// every finding open and no filter control (which would do nothing).
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [chromium, page, shot, ...flags] = process.argv.slice(2);
if (!chromium || !page || !shot) {
  console.error("usage: node browser-check.mjs CHROMIUM PAGE.html SHOT.png [--expect-errors] [--max-ms N]");
  process.exit(2);
}
const expectErrors = flags.includes("--expect-errors");
const maxAt = flags.indexOf("--max-ms");
const maxMs = maxAt >= 0 ? Number(flags[maxAt + 1]) : Infinity;
const noScript = flags.includes("--no-script");
const url = pathToFileURL(resolve(page)).href;
const profile = mkdtempSync(join(tmpdir(), "browser-check-"));
const child = spawn(
  chromium,
  [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--hide-scrollbars", "--mute-audio",
    `--user-data-dir=${profile}`, "--remote-debugging-pipe", "--window-size=1366,900",
    "about:blank",
  ],
  { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] },
);
let chromeLog = "";
child.stderr.on("data", (d) => { chromeLog += d; });
const toChrome = child.stdio[3];
const fromChrome = child.stdio[4];

let nextId = 1;
const pending = new Map();
const problems = [];
const waiters = [];
let buffer = "";
fromChrome.on("data", (chunk) => {
  buffer += chunk.toString("utf8");
  let end;
  while ((end = buffer.indexOf("\0")) >= 0) {
    const msg = JSON.parse(buffer.slice(0, end));
    buffer = buffer.slice(end + 1);
    if (msg.id && pending.has(msg.id)) {
      const { ok, fail } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) fail(new Error(`${msg.error.message} (${msg.error.code})`));
      else ok(msg.result);
    } else if (msg.method) {
      onEvent(msg.method, msg.params || {});
      for (const w of waiters.splice(0)) {
        if (w.method === msg.method) w.ok(msg.params);
        else waiters.push(w);
      }
    }
  }
});

function send(method, params = {}, sessionId) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  toChrome.write(JSON.stringify(msg) + "\0");
  return new Promise((ok, fail) => pending.set(id, { ok, fail }));
}
function waitFor(method, ms) {
  return new Promise((ok, fail) => {
    const w = { method, ok };
    waiters.push(w);
    setTimeout(() => fail(new Error(`timed out waiting for ${method}`)), ms);
  });
}
function onEvent(method, p) {
  if (method === "Runtime.consoleAPICalled" && ["error", "assert"].includes(p.type)) {
    problems.push(`console.${p.type}: ${(p.args || []).map((a) => a.value ?? a.description).join(" ")}`);
  } else if (method === "Runtime.exceptionThrown") {
    problems.push(`uncaught exception: ${p.exceptionDetails?.exception?.description || p.exceptionDetails?.text}`);
  } else if (method === "Log.entryAdded" && p.entry?.level === "error") {
    problems.push(`log error (${p.entry.source}): ${p.entry.text} ${p.entry.url || ""}`.trim());
  } else if (method === "Network.requestWillBeSent") {
    const u = p.request?.url || "";
    if (!u.startsWith("file:") && !u.startsWith("data:") && u !== "about:blank") {
      problems.push(`network request leaves the file: ${u}`);
    }
  }
}

const timer = setTimeout(() => { console.error("browser-check: timed out"); child.kill("SIGKILL"); process.exit(1); }, 60000);
try {
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  for (const domain of ["Runtime", "Log", "Page", "Network", "DOM"]) {
    await send(`${domain}.enable`, {}, sessionId);
  }
  if (noScript) await send("Emulation.setScriptExecutionDisabled", { value: true }, sessionId);
  const loaded = waitFor("Page.loadEventFired", 30000);
  const started = Date.now();
  const nav = await send("Page.navigate", { url }, sessionId);
  if (nav.errorText) throw new Error(`navigation failed: ${nav.errorText}`);
  await loaded;
  // The first frame drawn after the load event, in ms since navigation start.
  // (DevTools evaluates nothing in a page whose scripts are disabled.)
  const frame = noScript ? {} : await send("Runtime.evaluate", {
    expression: "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))",
    awaitPromise: true, returnByValue: true,
  }, sessionId);
  const wall = Date.now() - started;
  const drawn = Math.round(frame.result?.value ?? wall);
  const loadMs = Math.max(wall, drawn);
  await new Promise((r) => setTimeout(r, 300));
  const { root } = await send("DOM.getDocument", { depth: 0 }, sessionId);
  const query = async (selector) => (await send("DOM.querySelectorAll", { nodeId: root.nodeId, selector }, sessionId)).nodeIds.length;
  if (!expectErrors) {
    const foreign = await query('script:not(#pa-script):not([type="application/json"])');
    if (foreign > 0) problems.push(`${foreign} <script> element(s) besides the report's own`);
    if ((await query("script#pa-script")) !== 1) problems.push("the report's script is missing or repeated");
    if (noScript) {
      if ((await query('html[data-ready="1"]')) !== 0) problems.push("the script ran although scripts are disabled");
      const closed = await query("details:not([open])");
      if (closed > 0) problems.push(`without the script, ${closed} section(s) are collapsed`);
      // The stylesheet hides every [hidden] element.
      const controls = await query(".filters:not([hidden]), .pager:not([hidden])");
      if (controls > 0) problems.push(`without the script, ${controls} filter or pager control(s) show`);
    } else if ((await query('html[data-ready="1"]')) !== 1) {
      problems.push("the report's script did not run (refused by the page's policy?)");
    }
    for (const tag of ["iframe", "img", "object", "embed"]) {
      const n = await query(tag);
      if (n > 0) problems.push(`${n} <${tag}> element(s) in the page`);
    }
  }
  const rows = await query("#customers-table tbody tr");
  const findings = await query("details.finding");
  if (loadMs > maxMs) problems.push(`loading took ${loadMs} ms, over the limit of ${maxMs} ms`);
  let printed = "";
  if (!expectErrors && !noScript && findings > 0) {
    // As printed: every finding's content shows although the script
    // collapsed them, and no diagram label leaves its box (measured with
    // the fonts the browser really uses).
    await send("Emulation.setEmulatedMedia", { media: "print" }, sessionId);
    const check = await send("Runtime.evaluate", {
      returnByValue: true,
      expression: `(() => {
        const out = { collapsed: 0, shown: 0, cut: [] };
        for (const d of document.querySelectorAll("details.finding")) {
          if (!d.open) out.collapsed++;
          const body = d.querySelector(".remediation");
          if (body && body.checkVisibility() && body.getBoundingClientRect().height > 0) out.shown++;
        }
        for (const g of document.querySelectorAll("svg.path-svg g.node")) {
          const box = g.querySelector("rect").getBBox();
          for (const t of g.querySelectorAll("text")) {
            const b = t.getBBox();
            if (b.x < box.x || b.x + b.width > box.x + box.width) out.cut.push(t.textContent);
          }
        }
        return out;
      })()`,
    }, sessionId);
    const p = check.result.value;
    if (p.shown !== findings) problems.push(`printed, ${findings - p.shown} of ${findings} finding(s) show no content`);
    for (const t of p.cut.slice(0, 5)) problems.push(`a diagram label leaves its box: ${t}`);
    if (p.cut.length > 5) problems.push(`… and ${p.cut.length - 5} more labels leave their box`);
    const pdf = await send("Page.printToPDF", { printBackground: true }, sessionId);
    writeFileSync(shot.replace(/\.png$/, "") + ".pdf", Buffer.from(pdf.data, "base64"));
    await send("Emulation.setEmulatedMedia", { media: "" }, sessionId);
    printed = `, printed with ${p.shown} finding(s) shown (${p.collapsed} collapsed on screen)`;
  }
  const svgs = await query("svg.path-svg");
  const metrics = await send("Page.getLayoutMetrics", {}, sessionId);
  const size = metrics.cssContentSize || metrics.contentSize;
  const height = Math.min(Math.ceil(size.height), 14000);
  const shotData = await send("Page.captureScreenshot", {
    format: "png", captureBeyondViewport: true,
    clip: { x: 0, y: 0, width: 1366, height, scale: 1 },
  }, sessionId);
  writeFileSync(shot, Buffer.from(shotData.data, "base64"));
  console.log(`browser-check: ${url}: loaded in ${loadMs} ms (load event ${wall} ms wall, first frame ${drawn} ms), ${Math.ceil(size.height)}px tall, ${rows} customer row(s), ${findings} finding(s), ${svgs} path diagram(s)${printed}, screenshot ${shot}`);
  await send("Browser.close").catch(() => {});
} catch (e) {
  problems.push(`check failed: ${e.message}`);
}
clearTimeout(timer);
child.kill();
for (const p of problems) console.error(`browser-check: ${p}`);
if (expectErrors) {
  if (problems.length === 0) { console.error("browser-check: self-test: the check missed a console error"); process.exit(1); }
  console.log(`browser-check: self-test ok (${problems.length} problem(s) detected as expected)`);
  process.exit(0);
}
process.exit(problems.length === 0 ? 0 : 1);
