// Daemon timelines (templates/daemons/_timeline.html): details on hover or tap, the 24 h / 7 days switch,
// and a fresh strip after the daemon reports a status (live.js sends "daemon-status"), at most every 5 s.
(function () {
  "use strict";
  const REFRESH_MIN_MS = 5000;
  const lastFetch = new Map();
  const pending = new Map();

  function refresh(figure, src) {
    const url = src || figure.dataset.timelineSrc;
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        const template = document.createElement("template");
        template.innerHTML = html.trim();
        const fresh = template.content.firstElementChild;
        if (fresh) figure.replaceWith(fresh);
      })
      .catch(() => {});
  }

  function schedule(name) {
    if (pending.has(name)) return;
    const wait = Math.max(0, (lastFetch.get(name) || 0) + REFRESH_MIN_MS - Date.now());
    pending.set(name, setTimeout(() => {
      pending.delete(name);
      lastFetch.set(name, Date.now());
      document.querySelectorAll(`[data-timeline="${CSS.escape(name)}"]`).forEach((figure) => refresh(figure));
    }, wait));
  }

  function showDetail(target) {
    const figure = target.closest("[data-timeline]");
    const detail = figure && figure.querySelector("[data-timeline-detail]");
    if (detail && target.dataset.detail) detail.textContent = target.dataset.detail;
  }

  document.addEventListener("mouseover", (event) => {
    if (event.target.matches && event.target.matches("[data-timeline] [data-detail]")) showDetail(event.target);
  });
  document.addEventListener("click", (event) => {
    const choice = event.target.closest && event.target.closest("[data-timeline-window]");
    if (choice) {
      event.preventDefault();
      const figure = choice.closest("[data-timeline]");
      refresh(figure, `${figure.dataset.timelineSrc.split("?")[0]}?hours=${choice.dataset.timelineWindow}`);
      return;
    }
    // A tap on a phone: the first tap shows what the segment was; links (jobs) follow on the next.
    const segment = event.target.closest && event.target.closest("[data-timeline] [data-detail]");
    if (segment && event.pointerType === "touch") {
      const detail = segment.closest("[data-timeline]").querySelector("[data-timeline-detail]");
      if (detail && detail.textContent !== segment.dataset.detail) {
        event.preventDefault();
        showDetail(segment);
      }
    }
  });
  document.addEventListener("daemon-status", (event) => schedule(event.detail.name));
})();
