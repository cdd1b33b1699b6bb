// The witness form in steps (what happened → … → review and send). Without JavaScript the
// same form is one page and sends as it is; with it, one step shows at a time, "Next" and
// "Back" move between them, and the last step lists everything before it is sent. Nothing
// here sends data: it only shows and hides parts of the form (static/js/upload.js sends).
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form || !form.querySelectorAll) { return; }
  document.documentElement.classList.add("js");
  var steps = Array.prototype.slice.call(form.querySelectorAll("fieldset.step"));
  if (!steps.length) { return; }
  var text = {
    next: form.getAttribute("data-text-next") || "Next",
    back: form.getAttribute("data-text-back") || "Back",
    step: form.getAttribute("data-text-step") || "Step %(number)s of %(total)s",
    none: form.getAttribute("data-text-none") || "—"
  };
  var links = Array.prototype.slice.call(document.querySelectorAll(".steps-progress a"));
  var current = 0;

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, key) { return String(values[key]); })
      .replace(/%%/g, "%");
  }

  function legendOf(element) {
    var legend = element.querySelector("legend");
    return legend ? legend.textContent.trim() : "";
  }

  function show(index, focus) {
    current = Math.max(0, Math.min(index, steps.length - 1));
    steps.forEach(function (step, i) { step.hidden = i !== current; });
    links.forEach(function (link, i) {
      if (i === current) { link.setAttribute("aria-current", "step"); }
      else { link.removeAttribute("aria-current"); }
    });
    if (current === steps.length - 1) { summarise(); }
    if (focus) {
      var legend = steps[current].querySelector("legend");
      steps[current].setAttribute("tabindex", "-1");
      steps[current].focus();
      if (legend) { legend.scrollIntoView({block: "start"}); }
    }
  }

  function navigation(step, index) {
    var nav = document.createElement("div");
    nav.className = "step-nav";
    var where = document.createElement("p");
    where.className = "hint";
    where.textContent = fill(text.step, {number: index + 1, total: steps.length});
    step.insertBefore(where, step.children[1] || null);
    if (index > 0) {
      var back = document.createElement("button");
      back.type = "button";
      back.className = "secondary";
      back.textContent = text.back;
      back.addEventListener("click", function () { show(index - 1, true); });
      nav.appendChild(back);
    }
    if (index < steps.length - 1) {
      var next = document.createElement("button");
      next.type = "button";
      next.className = "step-next";
      next.textContent = text.next;
      next.addEventListener("click", function () { show(index + 1, true); });
      nav.appendChild(next);
    }
    step.appendChild(nav);
  }

  // What one step says, as lines for the summary: text typed, options and boxes chosen.
  function answers(step) {
    var lines = [];
    Array.prototype.forEach.call(step.querySelectorAll("textarea, input, select"), function (el) {
      if (el.type === "hidden" || el.type === "button" || el.type === "submit") { return; }
      var label = step.querySelector("label[for='" + el.id + "']");
      var name = label ? label.textContent.trim() : "";
      if (el.type === "checkbox" || el.type === "radio") {
        if (!el.checked) { return; }
        var group = el.closest("fieldset.choices");
        var choice = el.parentNode.textContent.trim();
        lines.push(group && group !== step ? legendOf(group) + ": " + choice : choice);
      } else if (el.type === "file") {
        Array.prototype.forEach.call(el.files || [], function (file) { lines.push(file.name); });
      } else if (el.tagName === "SELECT") {
        lines.push(name + ": " + el.options[el.selectedIndex].text);
      } else if (el.value.trim()) {
        lines.push(name ? name + ": " + el.value.trim() : el.value.trim());
      }
    });
    return lines;
  }

  function summarise() {
    var box = document.getElementById("report-summary");
    var list = document.getElementById("summary-list");
    if (!box || !list) { return; }
    list.textContent = "";
    steps.slice(0, -1).forEach(function (step) {
      var term = document.createElement("dt");
      term.textContent = legendOf(step);
      var value = document.createElement("dd");
      var lines = answers(step);
      value.textContent = lines.length ? lines.join("\n") : text.none;
      list.appendChild(term);
      list.appendChild(value);
    });
    box.hidden = false;
  }

  steps.forEach(navigation);
  links.forEach(function (link, i) {
    link.addEventListener("click", function (event) { event.preventDefault(); show(i, true); });
  });

  // An upload continuing by itself after a reload (upload.js keeps unfinished files) is
  // shown to the witness: until they touch the form, open the step that holds it.
  var touched = false;
  ["click", "keydown"].forEach(function (name) {
    form.addEventListener(name, function () { touched = true; });
  });
  form.addEventListener("upload-progress", function (event) {
    var detail = event.detail || {};
    if (!detail.item || touched) { return; }
    steps.forEach(function (step, i) {
      if (step.hidden && step.contains(detail.item)) { show(i, false); }
    });
  });

  // After an error from the server, open the step that holds the field to correct.
  var start = 0;
  var bad = form.querySelector(".has-error, .field-error");
  if (bad) {
    steps.forEach(function (step, i) { if (step.contains(bad)) { start = i; } });
  } else if (location.hash) {
    steps.forEach(function (step, i) { if ("#" + step.id === location.hash) { start = i; } });
  }
  show(start, false);
}());
