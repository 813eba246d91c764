// Dispatcher dashboard: live numbers without a full reload. Everything works without this script;
// it only refreshes [data-live] texts, [data-bar] widths and [data-graph] fragments, pausing
// while the tab is hidden, and adds "select all" and a question before actions that cannot be undone.
(() => {
  "use strict";
  // Controls that need this script (select all) show only when it runs.
  document.documentElement.classList.add("js");
  const every = 3000;
  const liveUrl = document.body.dataset.liveUrl;
  let timer = null, busy = false;

  async function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const batches = [...new Set([...document.querySelectorAll("[data-batch]")].map(e => e.dataset.batch))].slice(0, 100);
      const query = new URLSearchParams();
      if (batches.length) query.set("batch", batches.join(","));
      if (document.querySelector("[data-live^='onboarding.']")) query.set("onboarding", "true");
      const url = liveUrl + (query.toString() ? "?" + query : "");
      const response = await fetch(url, { headers: { Accept: "application/json", "X-Dashboard-Live": "1" }, credentials: "same-origin" });
      if (response.status === 401) { signedOut = true; stop(); return; } // signed out meanwhile: the next navigation shows the login form
      if (response.ok) {
        const live = await response.json();
        for (const e of document.querySelectorAll("[data-live]")) {
          const value = live[e.dataset.live];
          if (value !== undefined && e.textContent !== value) e.textContent = value;
        }
        for (const e of document.querySelectorAll("[data-bar]")) {
          const value = live[e.dataset.bar];
          if (value !== undefined) e.style.width = value + "%";
        }
      }
      for (const e of document.querySelectorAll("[data-graph]")) {
        const graph = await fetch(e.dataset.graph, { headers: { "X-Dashboard-Live": "1" }, credentials: "same-origin" });
        if (graph.ok) e.innerHTML = await graph.text();
      }
    } catch (_) {
      // The next tick tries again; a network blip is not worth a message.
    } finally {
      busy = false;
    }
  }

  // Only pages with live numbers poll; a page without any never starts, not even when shown again.
  const live = Boolean(liveUrl && document.querySelector("[data-live], [data-bar], [data-graph]"));
  let signedOut = false;
  function start() { if (live && !signedOut && !timer) timer = setInterval(refresh, every); }
  function stop() { clearInterval(timer); timer = null; }
  document.addEventListener("visibilitychange", () => { if (document.hidden) stop(); else if (live && !signedOut) { refresh(); start(); } });
  start();

  // Actions that cannot be undone ask first.
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", event => { if (!confirm(button.dataset.confirm)) event.preventDefault(); });
  }

  for (const all of document.querySelectorAll("[data-select-all]")) {
    all.addEventListener("change", () => {
      for (const box of all.closest("form").querySelectorAll("input[name=ids]")) box.checked = all.checked;
    });
  }
})();
