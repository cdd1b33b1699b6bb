/* Resumable uploads (tus 1.0.0) wherever a witness adds files: the report form and "Add
 * more files" on their report's page. First-party, no dependencies.
 *
 * Without JavaScript the form posts its files plainly. With it, each chosen file is sent
 * to /api/v1/uploads/ with a progress bar, a pause/resume button and automatic retries;
 * the upload URL is remembered in localStorage (keyed by the file's name, size and date,
 * never its contents), so after a dropped connection or a reload the same file continues
 * where it stopped. When every file is up, the form is submitted with the upload ids
 * instead of the files.
 *
 * Nothing is asked of the witness but to wait: a failed or stalled request is retried with
 * growing delays (at once when the browser comes back online, e.g. after a network change),
 * each retry asks the server where it stands (HEAD) and continues from there, and the
 * files still uploading are kept in this browser's IndexedDB until they are up, so after a
 * page reload (or a browser restart) they continue without being chosen again. The status
 * beside each bar says what is happening, with the bytes sent and the percentage. The
 * upload URL carries the upload's capability: it is kept only in this browser, like the
 * file itself. What is kept is scoped to the form (`data-upload-scope`: the report form,
 * or one report's "add files"), so a file continues only where it was chosen.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js"); // our file button replaces the browser's
  var form = document.querySelector("form[data-tus-endpoint]");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  var input = form.querySelector("input[type=file][name=files]");
  if (!input) { return; }
  var scope = form.getAttribute("data-upload-scope") || "report";
  var endpoint = form.getAttribute("data-tus-endpoint");
  var csrfField = form.querySelector("input[name=csrf_token]");
  var csrf = csrfField ? csrfField.value : "";
  var text = {
    pause: form.getAttribute("data-text-pause") || "Pause",
    resume: form.getAttribute("data-text-resume") || "Resume",
    done: form.getAttribute("data-text-done") || "Uploaded",
    failed: form.getAttribute("data-text-failed") || "Upload failed; trying again",
    tooLarge: form.getAttribute("data-text-too-large") || "This file is too large",
    waiting: form.getAttribute("data-text-waiting") || "Waiting for the files to finish",
    resumed: form.getAttribute("data-text-resumed") || "Continuing where it stopped",
    restored: form.getAttribute("data-text-restored") ||
      "Continuing the upload you started before",
    files: form.getAttribute("data-text-files") || "%(count)s files",
    of: form.getAttribute("data-text-of") || "%(sent)s of %(total)s (%(percent)s%)"
  };
  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, key) { return String(values[key]); })
      .replace(/%%/g, "%");
  }
  // Sizes as the server writes them ("157,9 КБ"): its translated units, KiB upwards.
  var units = (form.getAttribute("data-text-sizes") || "").split("|");
  if (units.length < 2) { units = ["%(size)s KiB", "%(size)s MiB", "%(size)s GiB"]; }
  function size(bytes) {
    var value = bytes / 1024;
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return fill(units[unit], {size: value.toLocaleString(document.documentElement.lang,
                                                         {minimumFractionDigits: 1,
                                                          maximumFractionDigits: 1})});
  }
  var RETRY_DELAYS = [1000, 2000, 5000, 10000, 30000];
  // A request with no upload progress for this long is presumed dead (a network change
  // can leave it hanging without an error): it is aborted and retried.
  var STALL_MS = 20000;
  var DB_NAME = "incidents-uploads";
  var STORE_PREFIX = "tus-upload:";
  var list = document.createElement("ul");
  list.className = "uploads";
  input.parentNode.insertBefore(list, input.nextSibling);
  var jobs = [];
  var submitting = false;

  function storageKey(file) {
    return STORE_PREFIX + [scope, file.name, file.size, file.lastModified || 0].join("|");
  }
  function remember(file, url) {
    try { window.localStorage.setItem(storageKey(file), url); } catch (e) { /* private mode */ }
  }
  function recall(file) {
    try { return window.localStorage.getItem(storageKey(file)); } catch (e) { return null; }
  }
  function forget(file) {
    try { window.localStorage.removeItem(storageKey(file)); } catch (e) { /* ignore */ }
  }
  function b64(value) {
    return window.btoa(unescape(encodeURIComponent(value)));
  }

  // The files still uploading, so a reload can continue them (best effort: private modes
  // and old browsers have no IndexedDB, and then a reload needs the file chosen again).
  function withStore(mode, action) {
    return new Promise(function (resolve) {
      var open;
      try { open = window.indexedDB && window.indexedDB.open(DB_NAME, 1); } catch (e) { open = null; }
      if (!open) { resolve(null); return; }
      open.onupgradeneeded = function () { open.result.createObjectStore("files"); };
      open.onerror = function () { resolve(null); };
      open.onsuccess = function () {
        var db = open.result;
        try {
          var tx = db.transaction("files", mode);
          var request = action(tx.objectStore("files"));
          tx.oncomplete = function () { db.close(); resolve(request ? request.result : null); };
          tx.onerror = tx.onabort = function () { db.close(); resolve(null); };
        } catch (e) { db.close(); resolve(null); }
      };
    });
  }
  function keep(file) {
    return withStore("readwrite", function (store) {
      return store.put({scope: scope, file: file}, storageKey(file));
    });
  }
  function drop(file) {
    return withStore("readwrite", function (store) { return store.delete(storageKey(file)); });
  }
  function kept() { // this form's files (a bare File was kept by the report form)
    return withStore("readonly", function (store) { return store.getAll(); }).then(function (all) {
      return (all || []).map(function (entry) {
        return entry && entry.file ? entry : {scope: "report", file: entry};
      }).filter(function (entry) { return entry.scope === scope; }).map(function (entry) {
        return entry.file;
      });
    });
  }

  function request(method, url, headers, body, onProgress) {
    var xhr = new XMLHttpRequest();
    var promise = new Promise(function (resolve, reject) {
      xhr.open(method, url, true);
      xhr.setRequestHeader("Tus-Resumable", "1.0.0");
      if (csrf) { xhr.setRequestHeader("X-CSRFToken", csrf); }
      Object.keys(headers).forEach(function (name) { xhr.setRequestHeader(name, headers[name]); });
      var watchdog = null;
      function alive() {
        window.clearTimeout(watchdog);
        watchdog = window.setTimeout(function () { xhr.stalled = true; xhr.abort(); }, STALL_MS);
      }
      if (xhr.upload) {
        xhr.upload.onprogress = function (event) {
          alive();
          if (onProgress) { onProgress(event.loaded); }
        };
      }
      xhr.onload = function () { window.clearTimeout(watchdog); resolve(xhr); };
      xhr.onerror = function () { window.clearTimeout(watchdog); reject(new Error("network")); };
      xhr.onabort = function () {
        window.clearTimeout(watchdog);
        reject(new Error(xhr.stalled ? "network" : "aborted"));
      };
      alive();
      xhr.send(body === undefined ? null : body);
    });
    promise.xhr = xhr;
    return promise;
  }

  function Job(file) {
    this.file = file;
    this.url = recall(file);
    this.offset = 0;
    this.paused = false;
    this.finished = false;
    this.refused = false;
    this.attempt = 0;
    this.current = null;
    this.timer = null;
    this.interrupted = false;
    var item = document.createElement("li");
    var label = document.createElement("span");
    label.textContent = file.name + " ";
    this.bar = document.createElement("progress");
    this.bar.max = 100;
    this.bar.value = 0;
    this.status = document.createElement("span");
    this.status.className = "upload-status";
    this.bytes = document.createElement("span");
    this.bytes.className = "upload-bytes";
    this.button = document.createElement("button");
    this.button.type = "button";
    this.button.textContent = text.pause;
    var job = this;
    this.button.addEventListener("click", function () { job.toggle(); });
    item.appendChild(label);
    item.appendChild(this.bar);
    item.appendChild(this.button);
    item.appendChild(this.status);
    item.appendChild(this.bytes);
    list.appendChild(item);
  }

  Job.prototype.show = function (sent) {
    var total = this.file.size;
    var percent = total ? Math.floor((sent * 100) / total) : 100;
    this.bar.value = percent;
    this.bar.textContent = percent + "%";
    this.bar.setAttribute("aria-valuenow", String(percent));
    this.bytes.textContent = " " + fill(text.of, {sent: size(sent), total: size(total),
                                                  percent: percent});
    // For the page around us (report-steps.js opens the step that holds the upload).
    form.dispatchEvent(new CustomEvent("upload-progress",
      {detail: {item: this.bar.parentNode, sent: sent, total: total}}));
  };

  Job.prototype.toggle = function () {
    if (this.finished) { return; }
    if (this.paused) {
      this.paused = false;
      this.button.textContent = text.pause;
      this.run();
    } else {
      this.paused = true;
      this.button.textContent = text.resume;
      if (this.current) { this.current.xhr.abort(); }
    }
  };

  Job.prototype.create = function () {
    var job = this;
    var meta = "filename " + b64(job.file.name) + ",filetype " + b64(job.file.type || "");
    return request("POST", endpoint, {"Upload-Length": String(job.file.size),
                                      "Upload-Metadata": meta}).then(function (xhr) {
      if (xhr.status !== 201) { throw new Error("create " + xhr.status); }
      job.url = new URL(xhr.getResponseHeader("Location"), window.location.href).href;
      job.offset = 0;
      remember(job.file, job.url);
    });
  };

  Job.prototype.locate = function () {
    var job = this;
    if (!job.url) { return job.create(); }
    return request("HEAD", job.url, {}).then(function (xhr) {
      if (xhr.status === 404 || xhr.status === 410) {
        forget(job.file);
        job.url = null;
        return job.create();
      }
      if (xhr.status !== 200) { throw new Error("head " + xhr.status); }
      job.offset = parseInt(xhr.getResponseHeader("Upload-Offset"), 10) || 0;
      if (job.interrupted) { job.status.textContent = " " + text.resumed; }
    });
  };

  Job.prototype.send = function () {
    var job = this;
    if (job.offset >= job.file.size) { return Promise.resolve(); }
    var start = job.offset;
    // The rest of the file in one PATCH: if it is cut, the server keeps what arrived.
    var call = request("PATCH", job.url, {
      "Upload-Offset": String(start),
      "Content-Type": "application/offset+octet-stream"
    }, job.file.slice(start), function (loaded) { job.show(start + loaded); });
    job.current = call;
    return call.then(function (xhr) {
      job.current = null;
      if (xhr.status === 409 || xhr.status === 404) { return job.locate().then(function () { return job.send(); }); }
      // 423: the server is still finishing a request cut a moment ago; 5xx: restarting.
      if (xhr.status === 423 || xhr.status >= 500) { throw new Error("patch retry"); }
      if (xhr.status !== 204) { throw new Error("patch " + xhr.status); }
      job.offset = parseInt(xhr.getResponseHeader("Upload-Offset"), 10);
      return job.send();
    });
  };

  Job.prototype.run = function () {
    var job = this;
    if (job.finished || job.paused) { return; }
    window.clearTimeout(job.timer);
    job.timer = null;
    if (!job.interrupted) { job.status.textContent = ""; }
    job.locate().then(function () {
      job.show(job.offset);
      return job.send();
    }).then(function () {
      job.finished = true;
      job.show(job.file.size);
      job.status.textContent = " " + text.done;
      job.button.hidden = true; // nothing left to pause
      drop(job.file);
      maybeSubmit();
    }).catch(function (error) {
      job.current = null;
      if (job.paused) { return; }
      if (/ 413$/.test(String(error.message))) { // refused for good: no point retrying
        job.status.textContent = " " + text.tooLarge;
        job.button.disabled = true;
        job.refused = true; // settled: the report goes without it
        forget(job.file);
        maybeSubmit();
        return;
      }
      var delay = RETRY_DELAYS[Math.min(job.attempt, RETRY_DELAYS.length - 1)];
      job.attempt += 1;
      job.interrupted = true;
      job.status.textContent = " " + text.failed;
      job.timer = window.setTimeout(function () { job.run(); }, delay);
    });
  };

  function uploadIds() {
    return jobs.filter(function (job) { return job.finished; }).map(function (job) {
      return job.url.replace(/\/+$/, "").split("/").pop();
    });
  }

  function maybeSubmit() {
    if (!submitting || jobs.some(function (job) { return !job.finished && !job.refused; })) {
      return;
    }
    uploadIds().forEach(function (id) {
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = "uploads";
      hidden.value = id;
      // Before the file input: the server reads the form's fields before any file part.
      input.parentNode.insertBefore(hidden, input);
    });
    jobs.forEach(function (job) { forget(job.file); drop(job.file); });
    input.disabled = true; // the files went by tus; do not send them again
    form.submit();
  }

  function start(file, restored) {
    var job = new Job(file);
    jobs.push(job);
    if (restored) {
      job.interrupted = true;
      job.status.textContent = " " + text.restored;
    }
    job.run();
    return job;
  }

  // The translated button stands in for the browser's, so the count is said beside it.
  var chosen = form.querySelector(".files-chosen");
  input.addEventListener("change", function () {
    if (chosen) {
      chosen.textContent = input.files.length ? fill(text.files, {count: input.files.length}) : "";
    }
    jobs.forEach(function (job) {
      job.paused = true;
      window.clearTimeout(job.timer);
      if (job.current) { job.current.xhr.abort(); }
      drop(job.file);
    });
    jobs = [];
    list.textContent = "";
    Array.prototype.forEach.call(input.files, function (file) {
      keep(file);
      start(file, false);
    });
  });

  // Offline: a request in flight will not finish; let it go and wait for the network.
  window.addEventListener("offline", function () {
    jobs.forEach(function (job) {
      if (job.current) { job.current.xhr.stalled = true; job.current.xhr.abort(); }
    });
  });

  // Back online (a network change, a tunnel, airplane mode off): retry now, not later.
  window.addEventListener("online", function () {
    jobs.forEach(function (job) { if (job.timer) { job.run(); } });
  });

  // After a reload: continue the files that were still uploading, without asking again.
  kept().then(function (files) {
    (files || []).forEach(function (file) {
      if (!file || !file.name || jobs.some(function (job) {
        return storageKey(job.file) === storageKey(file);
      })) { return; }
      start(file, true); // with no remembered URL (cut before its POST) it starts afresh
    });
  });

  form.addEventListener("submit", function (event) {
    if (!jobs.length) { return; } // no files: the plain POST is all there is
    event.preventDefault();
    submitting = true;
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; button.textContent = text.waiting; }
    maybeSubmit();
  });
}());
