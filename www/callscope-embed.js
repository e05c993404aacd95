// callscope-embed.js: shows callscope profiles inside a page (docs built with Sphinx,
// MkDocs or plain HTML). See docs/embedding.md.
//
//   <div class="callscope-embed" data-src="profile.pyisession" data-view="flame"
//        data-thread="0" data-search="parse" data-height="400"></div>
//   <script src="callscope-embed.js" defer></script>
//
// Each embed becomes an iframe of callscope-viewer.html (written beside this script by
// `callscope viewer --embed DIR`), which fetches the profile itself: embeds are
// independent, and nothing from a profile ever touches the host page. The viewer follows
// the page's light or dark theme, also when the reader switches it.
(() => {
  "use strict";
  const script = document.currentScript;
  const viewer = new URL(
    (script && script.dataset.viewer) || "callscope-viewer.html",
    (script && script.src) || document.baseURI,
  );
  const mounted = [];

  // The page's theme: the attributes docs themes set (pydata/furo: data-theme, Material for
  // MkDocs: data-md-color-scheme, Bootstrap: data-bs-theme, Tailwind: class "dark"), else
  // the brightness of the background the embed sits on.
  function pageTheme(el) {
    for (const node of [document.documentElement, document.body]) {
      if (!node) continue;
      const attr = (node.getAttribute("data-theme") || node.getAttribute("data-md-color-scheme") ||
        node.getAttribute("data-bs-theme") || "").toLowerCase();
      if (attr === "dark" || attr === "slate") return "dark";
      if (attr === "light" || attr === "default") return "light";
      if (node.classList.contains("dark")) return "dark";
    }
    for (let n = el.parentElement; n; n = n.parentElement) {
      const rgba = (getComputedStyle(n).backgroundColor.match(/[\d.]+/g) || []).map(Number);
      if (rgba.length >= 3 && (rgba.length < 4 || rgba[3] > 0)) {
        const [r, g, b] = rgba;
        return 0.2126 * r + 0.7152 * g + 0.0722 * b < 128 ? "dark" : "light";
      }
    }
    return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function themeOf(el) {
    const chosen = el.dataset.theme;
    return chosen === "dark" || chosen === "light" ? chosen : pageTheme(el);
  }

  function mount(el) {
    if (el.dataset.callscopeMounted || !el.dataset.src) return;
    el.dataset.callscopeMounted = "1";
    const url = new URL(viewer);
    url.search = new URLSearchParams({
      url: new URL(el.dataset.src, document.baseURI).href,
      embed: "1",
      theme: themeOf(el),
    }).toString();
    const start = new URLSearchParams();
    if (el.dataset.view) start.set("view", el.dataset.view);
    if (el.dataset.thread) start.set("thread", el.dataset.thread);
    if (el.dataset.search) start.set("q", el.dataset.search);
    url.hash = start.toString();
    const frame = document.createElement("iframe");
    frame.src = url.href;
    frame.title = el.dataset.title || "callscope profile: " + el.dataset.src;
    frame.loading = "lazy";
    frame.style.width = "100%";
    frame.style.height = (parseInt(el.dataset.height, 10) || 500) + "px";
    frame.style.border = "1px solid rgba(128, 128, 128, 0.35)";
    frame.style.borderRadius = "6px";
    el.replaceChildren(frame);
    mounted.push({ el, frame, theme: themeOf(el) });
  }

  function mountAll(root) {
    (root || document).querySelectorAll(".callscope-embed").forEach(mount);
  }

  function followTheme() {
    for (const m of mounted) {
      const theme = themeOf(m.el);
      if (theme !== m.theme && m.frame.contentWindow) {
        m.theme = theme;
        m.frame.contentWindow.postMessage({ type: "callscope-theme", theme }, viewer.origin);
      }
    }
  }

  function start() {
    mountAll();
    const watch = { attributes: true, attributeFilter: ["class", "data-theme", "data-md-color-scheme", "data-bs-theme", "style"] };
    const observer = new MutationObserver(followTheme);
    observer.observe(document.documentElement, watch);
    if (document.body) observer.observe(document.body, watch);
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", followTheme);
  }

  // For pages that add embeds later (single-page docs): callscopeEmbed.mount(element).
  window.callscopeEmbed = { mount, mountAll };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
