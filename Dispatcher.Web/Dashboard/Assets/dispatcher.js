// Dispatcher's additions to Hangfire's dashboard, served in Hangfire's script bundle on every page.
// Our pages work without it; it keeps numbers and lists current without a reload (paused while the
// tab is hidden), shows the telephony banner and our home metrics on Hangfire's own pages, and
// links a job's page back to its batch, contact or onboarding call.
(function () {
  "use strict";
  var config = document.getElementById("hangfireConfig");
  if (!config || !window.fetch) return;
  // Hangfire builds its poll URL from the request's path base: our routes sit beside it, under any proxy prefix.
  var base = config.getAttribute("data-pollurl").replace(/\/stats$/, "");
  var dashboardPath = location.pathname.slice(new URL(base, location.href).pathname.length) || "/";
  var every = 2000;
  var main = document.querySelector(".js-page-container");

  function get(url, accept) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: accept, "X-Requested-With": "XMLHttpRequest" } });
  }

  // Our metrics on Hangfire's home page (its list of home metrics is internal), added before
  // Hangfire's script starts so that its /stats polling fills and refreshes them like its own.
  var graph = document.getElementById("realtimeGraph");
  if (graph) {
    var metrics = [
      ["dispatcher:active-batches", "Active batches"], ["dispatcher:calls-in-progress", "Calls in progress"],
      ["dispatcher:dials-last-minute", "Dials in the last minute"], ["dispatcher:failed-calls-waiting", "Failed calls to requeue"]];
    var row = document.createElement("div");
    row.className = "row dispatcher-metrics";
    metrics.forEach(function (m) {
      var column = document.createElement("div");
      column.className = "col-md-3";
      column.innerHTML = '<div class="metric metric-null"><div class="metric-body" data-metric="' + m[0] + '"></div>' +
        '<div class="metric-description"></div></div>';
      column.querySelector(".metric-description").textContent = m[1];
      row.appendChild(column);
    });
    var heading = document.createElement("h3");
    heading.textContent = "Calls";
    graph.parentNode.insertBefore(heading, graph.previousElementSibling);
    graph.parentNode.insertBefore(row, graph.previousElementSibling);
  }

  // The simulated-telephony banner: our pages render it, Hangfire's pages get it here.
  if (main && !document.querySelector("[data-dispatcher-banner]")) {
    get(base + "/dispatcher/banner", "text/html").then(function (r) { return r.ok ? r.text() : ""; }).then(function (html) {
      if (html) main.insertAdjacentHTML("afterbegin", html);
    }).catch(function () { });
  }

  // A job's page links back to where the job comes from.
  var job = /^\/jobs\/details\/(\d+)$/.exec(dashboardPath);
  if (job) {
    get(base + "/dispatcher/jobs/" + job[1] + "/origin", "application/json").then(function (r) { return r.ok ? r.json() : null; }).then(function (origin) {
      var title = document.querySelector("h1.page-header");
      if (!origin || !title) return;
      var p = document.createElement("p");
      p.className = "dispatcher-origin";
      var a = document.createElement("a");
      a.href = origin.href;
      a.textContent = origin.text;
      p.appendChild(document.createTextNode("From "));
      p.appendChild(a);
      title.parentNode.insertBefore(p, title.nextSibling);
    }).catch(function () { });
  }

  var tick = null;

  // Our pages: values marked data-live and bars marked data-bar.
  function refreshOurPage() {
    var batches = [];
    document.querySelectorAll("[data-batch]").forEach(function (e) {
      if (batches.indexOf(e.getAttribute("data-batch")) < 0) batches.push(e.getAttribute("data-batch"));
    });
    var query = [];
    if (batches.length) query.push("batch=" + batches.slice(0, 100).join(","));
    if (document.querySelector("[data-live^='onboarding.']")) query.push("onboarding=true");
    return get(base + "/dispatcher/live" + (query.length ? "?" + query.join("&") : ""), "application/json").then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (live) {
      if (!live) return;
      document.querySelectorAll("[data-live]").forEach(function (e) {
        var value = live[e.getAttribute("data-live")];
        if (value !== undefined && e.textContent !== value) e.textContent = value;
      });
      document.querySelectorAll("[data-bar]").forEach(function (e) {
        var value = live[e.getAttribute("data-bar")];
        if (value !== undefined) e.style.width = value + "%";
      });
    });
  }

  // Hangfire's job lists (Failed, Processing...): rows that came or went appear without a reload,
  // unless the user has selected some. Hangfire binds a list's buttons and checkboxes when the page
  // loads, so an empty list gets a (hidden) list element now, which later receives the rows.
  var jobList = /^\/jobs\/(enqueued\/[^/]+|scheduled|processing|succeeded|failed|deleted|awaiting)$/.test(dashboardPath);
  if (jobList && !document.querySelector(".js-jobs-list")) {
    var title = document.querySelector(".js-page-container h1.page-header");
    if (title) {
      var placeholder = document.createElement("div");
      placeholder.className = "js-jobs-list";
      placeholder.hidden = true;
      title.parentNode.appendChild(placeholder);
    }
  }

  function rowsOf(root) {
    return Array.prototype.map.call(root.querySelectorAll(".js-jobs-list-row input[name='jobs[]'], .js-jobs-list-row a"), function (e) {
      return e.value || e.getAttribute("href");
    }).join(" ");
  }

  function refreshJobList() {
    var list = document.querySelector(".js-jobs-list");
    if (!list || list.querySelector("input[name='jobs[]']:checked")) return Promise.resolve();
    return get(location.href, "text/html").then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      if (!html || list.querySelector("input[name='jobs[]']:checked")) return;
      var fresh = new DOMParser().parseFromString(html, "text/html");
      var freshList = fresh.querySelector(".js-page-container .js-jobs-list");
      var freshTitle = fresh.querySelector(".js-page-container h1.page-header");
      if (!freshTitle || rowsOf(fresh) === rowsOf(document)) return;
      var freshColumn = freshTitle.parentNode;
      if (freshList) {
        list.innerHTML = freshList.innerHTML;
        list.hidden = false;
        freshColumn.replaceChild(list, freshList);
      } else {
        list.innerHTML = "";
        list.hidden = true;
        freshColumn.appendChild(list);
      }
      var column = document.querySelector(".js-page-container h1.page-header").parentNode;
      while (column.firstChild) column.removeChild(column.firstChild);
      while (freshColumn.firstChild) column.appendChild(freshColumn.firstChild);
    });
  }

  var ours = document.querySelector("[data-live], [data-bar]");
  if (!ours && !jobList) return;
  var busy = false;
  function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    (ours ? refreshOurPage() : refreshJobList()).catch(function () { }).then(function () { busy = false; });
  }
  function start() { if (!tick) tick = setInterval(refresh, every); }
  function stop() { clearInterval(tick); tick = null; }
  document.addEventListener("visibilitychange", function () { if (document.hidden) stop(); else { refresh(); start(); } });
  if (!document.hidden) start();
})();
