// Behaviour of the panel and the shop pages. Kept out of the templates so that the
// Content-Security-Policy can refuse every inline script (script-src 'self').
"use strict";

// The sidebar's menu button opens and closes the menu on small screens.
for (const button of document.querySelectorAll(".menu-toggle[aria-controls]")) {
  button.addEventListener("click", () => {
    const menu = document.getElementById(button.getAttribute("aria-controls"));
    const open = menu.classList.toggle("open");
    button.setAttribute("aria-expanded", String(open));
  });
}

// <select data-autosubmit> sends its form when a choice is made (language, order status).
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
    target.form.requestSubmit();
  }
});

// <form data-confirm="question"> asks before it is sent.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

// Empty filter fields stay out of the URL, so bookmarked and shared links stay short.
for (const filters of document.querySelectorAll(".customer-filters")) {
  filters.addEventListener("formdata", (event) => {
    const keys = new Set(event.formData.keys());
    for (const key of keys) {
      if (event.formData.getAll(key).every((value) => value === "")) event.formData.delete(key);
    }
  });
}

// Open the collapsed bulk actions as soon as a row is selected (without JavaScript the
// merchant opens them with their summary).
const bulkActions = document.getElementById("bulk-actions");
const customerTable = document.querySelector(".customer-table");
if (bulkActions && customerTable) {
  customerTable.addEventListener("change", (event) => {
    const box = event.target;
    if (box.classList.contains("select-page")) {
      // The head's box selects or clears every row of this page.
      for (const row of customerTable.querySelectorAll('input[name="ids"]')) row.checked = box.checked;
    }
    if ((box.name === "ids" || box.classList.contains("select-page")) && box.checked) {
      bulkActions.open = true;
    }
  });
}
