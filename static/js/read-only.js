// Read-only accounts (no staff status; the server refuses their POSTs with 403): disable the controls of
// every form that would change something, so the page shows what exists without offering what is refused.
// Loaded only for such accounts (templates/base.html). Forms that live updates insert are caught too.
(() => {
  "use strict";
  const NOTE = "Read-only account: needs staff status";

  function disable(root) {
    const forms = root.querySelectorAll ? root.querySelectorAll('form[method="post" i]:not(.logout)') : [];
    for (const form of forms) {
      form.dataset.readOnly = "";
      for (const control of form.querySelectorAll("button, input, select, textarea")) {
        if (control.type === "hidden" || control.disabled) continue;
        control.disabled = true;
        control.title = NOTE;
      }
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    disable(document);
    new MutationObserver((records) => {
      for (const record of records) for (const node of record.addedNodes) if (node.nodeType === 1) disable(node.parentNode || node);
    }).observe(document.body, { childList: true, subtree: true });
  });
})();
