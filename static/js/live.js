/* Live updates for every page: one WebSocket, whole-state payloads, small DOM patches. No build step.
 *
 * The element carrying data-live-groups (the <body> of our pages, a hidden <div> in the admin) says what
 * to subscribe to (data-live-groups="daemons,jobs"), where the socket is (data-live-url), the stale
 * grace and the host lease (data-stale-after, data-lease-seconds) and the server's clock at render time
 * (data-server-now).
 * On every (re)connect the server sends the current state first (hello … snapshot_done); after a dropped
 * socket the page also re-reads its tables (logs, history, active jobs), so it never shows stale data
 * silently. document.body.dataset.liveState is "connecting", "connected" or "down" (tests wait on it).
 */
(function () {
  "use strict";

  const PING_EVERY_MS = 5000;
  const PONG_TIMEOUT_MS = 5000;
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 10000;
  const LEVELS = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 };
  const TERMINAL = ["completed", "failed", "cancelled"];
  // Re-read from the page after a reconnect (the snapshot does not cover them); the plan page's apply-job
  // table is not: the jobs snapshot fills it, and the page renders it empty.
  const RESYNCED = [
    "[data-job-table]",
    "[data-log-tail]",
    "[data-job-history]",
    "[data-plan-table]",
    "[data-plan-scenes]",
    "[data-downloads]",
  ];

  const config = document.querySelector("[data-live-groups]");
  const groups = config ? config.dataset.liveGroups.trim() : "";
  const staleAfter = config ? Number(config.dataset.staleAfter || 0) : 0;
  const leaseSeconds = config ? Number(config.dataset.leaseSeconds || 0) : 0;
  // The latest progress fragment of each job, for a daemon card that starts to follow a job.
  const JOB_PROGRESS_KEPT = 500;
  const jobProgress = new Map();
  const clockOffset = serverClockOffset();
  let socket = null;
  let backoff = BACKOFF_MIN_MS;
  let everConnected = false;
  let pingTimer = null;
  let pongTimer = null;
  let reconnectTimer = null;
  let replay = null; // payloads received while the page re-reads its tables, applied again afterwards
  let rereadAgain = null; // selectors asked for while a re-read was under way: read once more after it

  // --- time ----------------------------------------------------------------------------------

  function serverClockOffset() {
    // Ages ("updated 5 s ago") and staleness use the server's clock, not a possibly wrong browser clock.
    const serverNow = parseTime(config && config.dataset.serverNow);
    const nav = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
    if (isNaN(serverNow) || !nav) return 0;
    return serverNow - (performance.timeOrigin + nav.responseStart);
  }

  function now() {
    return Date.now() + clockOffset;
  }

  function parseTime(iso) {
    return iso ? Date.parse(iso.replace(/(\.\d{3})\d+/, "$1")) : NaN;
  }

  function formatAgo(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }

  function formatDuration(ms) {
    const total = Math.max(0, ms / 1000);
    if (total < 60) return total.toFixed(1) + " s";
    const s = Math.floor(total);
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  }

  function humanDuration(ms) {
    // The rules of orchestrator/durations.py human_duration(), so a countdown reads the same after its first tick.
    const seconds = Math.max(0, ms / 1000);
    if (Math.round(seconds) < 60) return Math.round(seconds) + " s";
    let minutes = Math.round(seconds / 60);
    if (minutes < 60) return minutes + " min";
    let hours = Math.floor(minutes / 60);
    minutes %= 60;
    if (hours < 24) return hours + " h" + (minutes ? " " + minutes + " min" : "");
    const days = Math.floor(hours / 24);
    hours %= 24;
    return days + " d" + (hours ? " " + hours + " h" : "");
  }

  function formatClock(t) {
    const d = new Date(t);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function formatDateTime(t) {
    const d = new Date(t);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }

  function renderTimes(scope, withDates) {
    const t = now();
    scope.querySelectorAll("time[data-ago]").forEach((el) => {
      const at = parseTime(el.getAttribute("datetime"));
      el.textContent = isNaN(at) ? "—" : formatAgo(t - at);
    });
    scope.querySelectorAll("time[data-until]").forEach((el) => {
      const at = parseTime(el.getAttribute("datetime"));
      el.textContent = isNaN(at) ? "—" : at - t > 0 ? "in " + humanDuration(at - t) : "now";
    });
    scope.querySelectorAll("time[data-since]").forEach((el) => {
      const at = parseTime(el.getAttribute("datetime"));
      el.textContent = isNaN(at) ? "—" : formatDuration(t - at);
    });
    scope.querySelectorAll("[data-duration]").forEach((el) => {
      const start = parseTime(el.dataset.start);
      const end = parseTime(el.dataset.end);
      el.textContent = isNaN(start) ? "—" : formatDuration((isNaN(end) ? t : end) - start);
    });
    if (!withDates) return;
    scope.querySelectorAll('[data-format="datetime"]').forEach((el) => {
      const at = parseTime(el.getAttribute("datetime"));
      el.textContent = isNaN(at) ? "—" : formatDateTime(at);
    });
    scope.querySelectorAll('[data-format="clock"]').forEach((el) => {
      const at = parseTime(el.getAttribute("datetime"));
      el.textContent = isNaN(at) ? "—" : formatClock(at);
    });
  }

  function refreshStale() {
    // daemons.services.is_stale(): running, and overdue (past its deadline plus the grace) or without a
    // heartbeat within the lease. Sleeping as told is never stale.
    const t = now();
    document.querySelectorAll("[data-daemon][data-actual-state]").forEach((root) => {
      const nextAt = parseTime(root.dataset.nextAt);
      const beat = parseTime(root.dataset.heartbeatAt);
      // A paused daemon waits for Resume, not for a deadline.
      const overdue = root.dataset.paused !== "true" && !isNaN(nextAt) && (t - nextAt) / 1000 > staleAfter;
      const hostLate = isNaN(beat) || (t - beat) / 1000 >= leaseSeconds;
      root.dataset.stale = root.dataset.actualState === "running" && (overdue || hostLate) ? "true" : "false";
    });
  }

  // --- DOM helpers -----------------------------------------------------------------------------

  function esc(value) {
    return window.CSS && CSS.escape ? CSS.escape(String(value)) : String(value).replace(/["\\]/g, "\\$&");
  }

  function fromHtml(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function setText(node, value) {
    const empty = node.dataset.empty !== undefined ? node.dataset.empty : "—";
    node.textContent = value === null || value === undefined || value === "" ? empty : String(value);
  }

  function setTime(node, iso) {
    node.setAttribute("datetime", iso || "");
  }

  function insertTop(tbody, row) {
    tbody.insertBefore(row, tbody.firstElementChild);
    renderTimes(row, true);
  }

  function trim(tbody, rowSelector) {
    const size = Number(tbody.dataset.pageSize || 0);
    if (!size) return;
    const rows = tbody.querySelectorAll(rowSelector);
    for (let i = size; i < rows.length; i++) rows[i].remove();
  }

  function syncEmpty(tbody, rowSelector) {
    if (!tbody) return;
    const empty = tbody.querySelector(".empty-row");
    if (empty) empty.hidden = !!tbody.querySelector(rowSelector);
  }

  function lastLine(text) {
    const lines = (text || "").trim().split("\n").filter((line) => line.trim());
    return lines.length ? lines[lines.length - 1].trim() : "";
  }

  function sortedJson(value) {
    // The same key order as the server's json.dumps(sort_keys=True), so a push does not reshuffle the text.
    if (Array.isArray(value)) return value.map(sortedJson);
    if (value && typeof value === "object") {
      return Object.keys(value).sort().reduce((out, key) => ((out[key] = sortedJson(value[key])), out), {});
    }
    return value;
  }

  // --- payloads ------------------------------------------------------------------------------

  function patchDaemon(payload) {
    const d = payload.daemon;
    if (!d) return;
    const name = esc(d.name);
    const status = payload.html && payload.html.status;
    if (typeof status === "string") {
      document.querySelectorAll(`[data-daemon-status="${name}"]`).forEach((node) => {
        node.innerHTML = status;
        renderTimes(node, true);
      });
    }
    document.querySelectorAll(`[data-daemon="${name}"]`).forEach((root) => {
      root.dataset.actualState = d.actual_state;
      root.dataset.desiredState = d.desired_state;
      root.dataset.autoStart = d.auto_start ? "true" : "false";
      root.dataset.paused = d.paused ? "true" : "false";
      root.dataset.statusUpdatedAt = d.status_updated_at || "";
      root.dataset.nextAt = d.status_next_at || "";
      root.dataset.heartbeatAt = d.heartbeat_at || "";
      root.querySelectorAll('input[name="auto_start"]').forEach((box) => (box.checked = !!d.auto_start));
      root.querySelectorAll("[data-field]").forEach((node) => {
        const field = node.dataset.field;
        setText(node, field === "last_error_summary" ? lastLine(d.last_error) : d[field]);
      });
      root.querySelectorAll("[data-time-field]").forEach((node) => setTime(node, d[node.dataset.timeField]));
      root.querySelectorAll("[data-last-error]").forEach((node) => (node.hidden = !d.last_error));
      root.querySelectorAll("[data-no-error]").forEach((node) => (node.hidden = !!d.last_error));
      // A host holds the lease while it heartbeats; releasing the lease clears the heartbeat.
      root.querySelectorAll("[data-no-host]").forEach((node) => (node.hidden = !!d.heartbeat_at));
      renderTimes(root, true);
    });
    document.querySelectorAll(`[data-daemon-job="${name}"]`).forEach((slot) => followJob(slot, d.current_job_id));
    refreshStale();
    // Others (the timelines, static/js/timeline.js) follow a daemon's statuses too.
    document.dispatchEvent(new CustomEvent("daemon-status", { detail: { name: d.name } }));
  }

  function followJob(slot, jobId) {
    // A daemon's card shows the progress of the job its status links to: known from that job's pushes
    // (the jobs group's snapshot brings every active job), or filled by the job's next push.
    const id = jobId || "";
    if (slot.dataset.jobId === id) return;
    slot.dataset.jobId = id;
    const html = id && jobProgress.get(id);
    slot.innerHTML = html || "";
    slot.hidden = !html;
    renderTimes(slot, true);
  }

  function showJobProgress(id, html) {
    jobProgress.delete(id);
    jobProgress.set(id, html);
    if (jobProgress.size > JOB_PROGRESS_KEPT) jobProgress.delete(jobProgress.keys().next().value);
    document.querySelectorAll(`[data-daemon-job][data-job-id="${esc(id)}"]`).forEach((slot) => {
      slot.innerHTML = html;
      slot.hidden = false;
      renderTimes(slot, true);
    });
  }

  function patchJob(payload) {
    const job = payload.job;
    if (!job) return;
    const id = esc(job.id);
    const html = payload.html && payload.html.row;
    const terminal = TERMINAL.includes(job.status);
    const progress = payload.html && payload.html.progress;
    if (typeof progress === "string") showJobProgress(job.id, progress);
    if (html) {
      document.querySelectorAll(`tr[data-job="${id}"]`).forEach((row) => {
        const fresh = fromHtml(html);
        row.replaceWith(fresh);
        renderTimes(fresh, true);
      });
    }
    const active = document.querySelector('[data-job-table="active"]');
    if (active) {
      const row = active.querySelector(`tr[data-job="${id}"]`);
      if (terminal && row) row.remove();
      if (!terminal && !row && html) insertTop(active, fromHtml(html));
      syncEmpty(active, "tr[data-job]");
    }
    const history = document.querySelector('[data-job-table="history"]');
    if (history && terminal && html && history.dataset.live === "true" && matchesFilters(history, job)) {
      if (!history.querySelector(`tr[data-job="${id}"]`)) insertTop(history, fromHtml(html));
      trim(history, "tr[data-job]");
      syncEmpty(history, "tr[data-job]");
    }
    document.querySelectorAll(`[data-job-detail="${id}"]`).forEach((root) => patchJobDetail(root, job));
    if (html && job.type === "apply_plan") patchPlanApply(job, html);
  }

  function matchesFilters(tbody, job) {
    const f = tbody.dataset;
    return (
      (!f.filterType || f.filterType === job.type) &&
      (!f.filterStatus || f.filterStatus === job.status) &&
      (!f.filterCreatedBy || f.filterCreatedBy === job.created_by)
    );
  }

  function patchJobDetail(root, job) {
    const percent = Math.round(job.progress || 0);
    root.dataset.status = job.status;
    root.querySelectorAll("[data-job-badge]").forEach((badge) => {
      badge.className = "badge status-" + job.status;
      badge.textContent = job.status.charAt(0).toUpperCase() + job.status.slice(1);
    });
    root.querySelectorAll("[data-job-progress]").forEach((fill) => {
      fill.dataset.width = percent;
      fill.style.width = percent + "%";
      fill.parentElement.setAttribute("aria-valuenow", percent);
    });
    root.querySelectorAll("[data-job-field]").forEach((node) => {
      const field = node.dataset.jobField;
      let value = field === "progress" ? percent : job[field];
      if (field === "total_items" && value === null) value = "?";
      setText(node, value);
    });
    root.querySelectorAll("[data-time-field]").forEach((node) => setTime(node, job[node.dataset.timeField]));
    root.querySelectorAll("[data-duration]").forEach((node) => {
      node.dataset.start = job.started_at || "";
      node.dataset.end = job.finished_at || "";
    });
    root.querySelectorAll("[data-job-json]").forEach((node) => {
      const value = job[node.dataset.jobJson];
      node.textContent = value === null || value === undefined ? "—" : JSON.stringify(sortedJson(value), null, 2);
    });
    root.querySelectorAll("[data-job-show]").forEach((node) => (node.hidden = !job[node.dataset.jobShow]));
    root.querySelectorAll("[data-job-items]").forEach((node) => (node.hidden = !job.total_items && !job.processed_items));
    renderTimes(root, true);
    if (TERMINAL.includes(job.status) && root.dataset.rendered !== job.status) {
      root.dataset.rendered = job.status;
      refreshRendered(root);
    }
  }

  function refreshRendered(root) {
    // The error summary, result table and related links are rendered by the server (ids become links);
    // once the job has ended, take them from a fresh copy of the page.
    fetch(location.href, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        root.querySelectorAll("[data-job-rendered]").forEach((node) => {
          const twin = fresh.querySelector(`[data-job-rendered="${node.dataset.jobRendered}"]`);
          if (twin) node.replaceWith(document.importNode(twin, true));
        });
      })
      .catch(() => {});
  }

  function addRow(tbody, html, rowSelector) {
    // The row is the server's fragment (autoescaped there), the same one the page renders on load.
    insertTop(tbody, fromHtml(html));
    trim(tbody, rowSelector);
    syncEmpty(tbody, rowSelector);
  }

  function addLog(payload) {
    const entry = payload.log;
    const html = payload.html && payload.html.row;
    if (!entry || typeof html !== "string") return;
    document.querySelectorAll(`[data-log-tail="${esc(entry.daemon)}"]`).forEach((tbody) => {
      if (tbody.dataset.live !== "true") return;
      if ((LEVELS[entry.level] || 0) < Number(tbody.dataset.minLevel || 0)) return;
      if (tbody.querySelector(`tr[data-log-id="${esc(entry.id)}"]`)) return;
      addRow(tbody, html, "tr[data-log-id]");
    });
  }

  function addHistory(payload) {
    const entry = payload.entry;
    const html = payload.html && payload.html.row;
    if (!entry || typeof html !== "string") return;
    document.querySelectorAll(`[data-job-history="${esc(entry.daemon)}"]`).forEach((tbody) => {
      if (tbody.dataset.live !== "true" || tbody.querySelector(`tr[data-entry-id="${esc(entry.id)}"]`)) return;
      addRow(tbody, html, "tr[data-entry-id]");
    });
  }

  // --- plans and downloads ------------------------------------------------------------------------

  function patchPlan(payload) {
    const plan = payload.plan;
    const html = payload.html || {};
    if (!plan) return;
    const id = esc(plan.id);
    document.querySelectorAll("[data-plan-table]").forEach((tbody) => {
      const row = tbody.querySelector(`tr[data-plan="${id}"]`);
      if (row && html.row) {
        const fresh = fromHtml(html.row);
        row.replaceWith(fresh);
        renderTimes(fresh, true);
      } else if (!row && html.row && tbody.dataset.live === "true") {
        if (tbody.dataset.filterStatus && tbody.dataset.filterStatus !== plan.status) return;
        // Newest first: a plan the page has not seen goes on top only if it is newer than the top row.
        const top = tbody.querySelector("tr[data-plan]");
        if (top && Number(top.dataset.plan) > plan.id) return;
        addRow(tbody, html.row, "tr[data-plan]");
      }
    });
    document.querySelectorAll(`[data-plan-facts="${id}"]`).forEach((node) => {
      if (typeof html.facts === "string") node.innerHTML = html.facts;
    });
    document.querySelectorAll(`.plan-detail[data-plan="${id}"]`).forEach((root) => (root.dataset.status = plan.status));
  }

  function patchPlanChanges(payload) {
    const scenes = document.querySelector(`[data-plan-scenes="${esc(payload.plan_id)}"]`);
    if (!scenes) return;
    if (payload.reload) {
      reread(["[data-plan-scenes]"]);
      return;
    }
    const rows = (payload.html && payload.html.rows) || {};
    Object.keys(rows).forEach((changeId) => {
      const row = scenes.querySelector(`tr[data-change="${esc(changeId)}"]`);
      if (!row) return; // on another page of scenes, or filtered out
      const fresh = fromHtml(rows[changeId]);
      // The fragment has no buttons (they need the page's CSRF token): keep the row's; CSS shows the
      // ones its new status allows.
      const actions = row.querySelector("[data-change-actions]");
      const slot = fresh.querySelector("[data-change-actions]");
      if (actions && slot) slot.replaceWith(actions);
      row.replaceWith(fresh);
    });
  }

  function patchPlanApply(job, html) {
    const planId = job.parameters && job.parameters.plan_id;
    if (planId === undefined || planId === null) return;
    document.querySelectorAll(`[data-plan-apply-jobs="${esc(planId)}"]`).forEach((tbody) => {
      if (!tbody.querySelector(`tr[data-job="${esc(job.id)}"]`)) insertTop(tbody, fromHtml(html));
      const section = tbody.closest("[data-plan-apply]");
      if (section) section.hidden = false;
    });
  }

  function patchDownload(payload) {
    const torrent = payload.torrent;
    const html = payload.html && payload.html.article;
    if (!torrent || typeof html !== "string") return;
    document.querySelectorAll("[data-downloads]").forEach((list) => {
      if (list.dataset.downloads !== "torrent") {
        reread(["[data-downloads]"]); // grouped by job: the page knows which job shows it where
        return;
      }
      const current = list.querySelector(`article[data-torrent="${esc(torrent.hash)}"]`);
      const onTop = list.dataset.live === "true" && (list.dataset.filterProblems !== "true" || torrent.problem);
      if (current && !onTop) {
        const fresh = fromHtml(html);
        current.replaceWith(fresh);
        renderTimes(fresh, true);
      } else if (onTop) {
        // The page lists torrents by latest activity: this one is now the latest.
        if (current) current.remove();
        addRow(list, html, "article[data-torrent]");
      }
    });
  }

  function patchHealth(payload) {
    // The banner of failing health checks (health/live.py): empty when every check is fine.
    const slot = document.querySelector("[data-health-slot]");
    if (slot && slot.innerHTML !== payload.html.banner) slot.innerHTML = payload.html.banner;
  }

  function apply(payload) {
    switch (payload.type) {
      case "daemon":
        return patchDaemon(payload);
      case "job":
        return patchJob(payload);
      case "daemon_log":
        return addLog(payload);
      case "daemon_job_history":
        return addHistory(payload);
      case "plan":
        return patchPlan(payload);
      case "plan_changes":
        return patchPlanChanges(payload);
      case "download":
        return patchDownload(payload);
      case "health":
        return patchHealth(payload);
    }
  }

  // --- after a reconnect: re-read what snapshots do not cover ----------------------------------

  function resync() {
    // Snapshots carry daemons, active jobs and the newest plans and torrents; log lines, history rows,
    // jobs that ended, a plan's changes and older rows are re-read from the page itself.
    reread(RESYNCED);
  }

  function reread(selectors) {
    // One fetch of this page at a time; what is asked for meanwhile is read once more after it.
    const wanted = selectors.filter((selector) => document.querySelector(selector));
    if (!wanted.length) return;
    if (replay) {
      rereadAgain = Array.from(new Set([...(rereadAgain || []), ...wanted]));
      return;
    }
    replay = [];
    fetch(location.href, { credentials: "same-origin", headers: { "X-Requested-With": "live.js" } })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        wanted.forEach((selector) => {
          const current = document.querySelectorAll(selector);
          const incoming = fresh.querySelectorAll(selector);
          current.forEach((node, i) => {
            if (incoming[i]) {
              node.innerHTML = incoming[i].innerHTML;
              renderTimes(node, true);
            }
          });
        });
      })
      .catch(() => {}) // the next reconnect tries again; live payloads keep flowing meanwhile
      .finally(() => {
        const pending = replay || [];
        replay = null;
        pending.forEach(apply);
        const again = rereadAgain;
        rereadAgain = null;
        if (again) reread(again);
      });
  }

  // --- the socket ----------------------------------------------------------------------------

  function setState(state) {
    document.body.dataset.liveState = state;
    document.querySelectorAll("[data-live-banner]").forEach((banner) => (banner.hidden = state !== "down"));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const url = scheme + location.host + config.dataset.liveUrl + "?subscribe=" + encodeURIComponent(groups);
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (error) {
      lost(null);
      return;
    }
    socket = ws;
    ws.onopen = () => {
      pingTimer = setInterval(() => ping(ws), PING_EVERY_MS);
    };
    ws.onmessage = (event) => {
      if (ws === socket) receive(event.data);
    };
    ws.onclose = (event) => {
      // 4401: the login behind the page ended (logout elsewhere, deactivated, new password). Reloading
      // leads to the login page instead of reconnecting in vain.
      if (event.code === 4401) location.reload();
      else if (ws === socket) lost(ws);
    };
  }

  function ping(ws) {
    if (ws !== socket || ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ type: "ping" }));
    if (!pongTimer) pongTimer = setTimeout(() => lost(ws), PONG_TIMEOUT_MS);
  }

  function lost(ws) {
    // A dead network may never deliver the close event: forget the socket now and reconnect.
    socket = null;
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    pingTimer = pongTimer = null;
    if (ws) {
      ws.onclose = ws.onmessage = null;
      try {
        ws.close();
      } catch (error) {
        // already closed
      }
    }
    setState("down");
    if (reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      connect();
    }, backoff);
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
  }

  function receive(text) {
    let payload;
    try {
      payload = JSON.parse(text);
    } catch (error) {
      return;
    }
    if (payload.type === "pong") {
      clearTimeout(pongTimer);
      pongTimer = null;
    } else if (payload.type === "snapshot_done") {
      backoff = BACKOFF_MIN_MS;
      setState("connected");
      if (everConnected) resync();
      everConnected = true;
    } else {
      apply(payload);
      if (replay) replay.push(payload);
    }
  }

  // --- page behaviour that needs no socket ------------------------------------------------------

  document.addEventListener("change", (event) => {
    const form = event.target.closest && event.target.closest("form[data-autosubmit]");
    if (!form) return;
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  });

  document.addEventListener("submit", (event) => {
    const message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // Bar widths come from data-width (a percentage): the Content-Security-Policy refuses style=""
  // attributes in markup, including fragments inserted by pushes, but not styles set from a script.
  function sizeBars(root) {
    if (root.matches && root.matches("[data-width]")) root.style.width = root.dataset.width + "%";
    if (root.querySelectorAll) root.querySelectorAll("[data-width]").forEach((bar) => (bar.style.width = bar.dataset.width + "%"));
  }
  sizeBars(document);
  new MutationObserver((records) => {
    for (const record of records) for (const node of record.addedNodes) if (node.nodeType === 1) sizeBars(node);
  }).observe(document.body, { childList: true, subtree: true });

  renderTimes(document, true);
  refreshStale();
  setInterval(() => {
    renderTimes(document, false);
    refreshStale();
  }, 1000);

  if (groups && config.dataset.liveUrl) {
    setState("connecting");
    window.addEventListener("online", () => {
      if (!socket && reconnectTimer) {
        clearTimeout(reconnectTimer);
        reconnectTimer = null;
        connect();
      }
    });
    connect();
  }
})();
