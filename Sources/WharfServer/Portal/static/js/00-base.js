// Wharf portal: progressive enhancement only. Every page works without this script; it adds copy buttons,
// the "/" shortcut, confirm() prompts and search-as-you-type. No inline handlers (the CSP forbids them).
// Other js/NN-*.js files are appended after this one; `window.Wharf` offers csrfToken() and fetchJSON() to them.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  // fetch() with the session cookie, JSON in and out, and the CSRF header on unsafe methods.
  function fetchJSON(url, options) {
    options = options || {};
    var method = (options.method || "GET").toUpperCase();
    var headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    if (method !== "GET" && method !== "HEAD") {
      headers["X-CSRF-Token"] = csrfToken();
      if (options.body !== undefined && typeof options.body !== "string") {
        headers["Content-Type"] = "application/json";
        options = Object.assign({}, options, { body: JSON.stringify(options.body) });
      }
    }
    return fetch(url, Object.assign({}, options, { method: method, headers: headers, credentials: "same-origin" }))
      .then(function (response) {
        if (!response.ok) {
          var error = new Error("HTTP " + response.status);
          error.status = response.status;
          throw error;
        }
        return response.status === 204 ? null : response.json();
      });
  }

  window.Wharf = Object.assign(window.Wharf || {}, { csrfToken: csrfToken, fetchJSON: fetchJSON });

  // ---------- copy to clipboard ----------

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-HTTP fallback: a selected, off-screen textarea and execCommand.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      document.body.removeChild(area);
      if (ok) resolve();
      else reject(new Error("copy failed"));
    });
  }

  function textToCopy(button) {
    if (button.hasAttribute("data-copy")) return button.getAttribute("data-copy");
    var selector = button.getAttribute("data-copy-target");
    var target = selector ? document.querySelector(selector) : null;
    if (!target) return null;
    return "value" in target && typeof target.value === "string" ? target.value : target.textContent.trim();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-copy-target]");
    if (!button) return;
    var text = textToCopy(button);
    if (text === null) return;
    event.preventDefault();
    var label = button.getAttribute("data-copy-label") || button.textContent;
    button.setAttribute("data-copy-label", label);
    copyText(text).then(
      function () {
        feedback(button, "Copied", true);
      },
      function () {
        feedback(button, "Press Ctrl+C", false);
      }
    );
  });

  function feedback(button, text, ok) {
    var label = button.getAttribute("data-copy-label");
    button.textContent = text;
    button.classList.toggle("is-copied", ok);
    clearTimeout(button._wharfCopyTimer);
    button._wharfCopyTimer = setTimeout(function () {
      button.textContent = label;
      button.classList.remove("is-copied");
    }, 1600);
  }

  // Copy buttons are hidden until this script runs (they do nothing without it).
  function revealCopyButtons(root) {
    root.querySelectorAll("[data-copy][hidden], [data-copy-target][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  // ---------- confirm() on data-confirm ----------

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var submitter = event.submitter;
      var message =
        (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  document.addEventListener("click", function (event) {
    // Links and buttons outside forms (a submit button in a form is handled on submit above).
    var element = event.target.closest("a[data-confirm], button[data-confirm]:not([type='submit'])");
    if (!element || (element.tagName === "BUTTON" && element.form && element.type === "submit")) return;
    if (!window.confirm(element.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  });

  // ---------- "/" focuses the search box ----------

  function isTyping(element) {
    if (!element) return false;
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(document.activeElement)) return;
    var search = document.getElementById("site-search");
    if (!search) return;
    event.preventDefault();
    search.focus();
    search.select();
  });

  // ---------- search as you type ----------

  function encodePath(path) {
    return path.split("/").map(encodeURIComponent).join("/");
  }

  function setupSearch() {
    var input = document.getElementById("site-search");
    if (!input) return;
    var container = input.closest(".site-search") || input.parentNode;
    var list = document.createElement("div");
    list.id = "site-search-results";
    list.className = "search-results";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Search results");
    list.hidden = true;
    container.appendChild(list);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("autocomplete", "off");

    var timer = null;
    var controller = null;
    var lastQuery = "";
    var active = -1;

    function options() {
      return Array.prototype.slice.call(list.querySelectorAll('[role="option"]'));
    }

    function hide() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function show() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function select(index) {
      var items = options();
      if (items.length === 0) return;
      if (index < 0) index = items.length - 1;
      if (index >= items.length) index = 0;
      items.forEach(function (item, i) {
        item.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      active = index;
      input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    }

    function element(tag, className, text) {
      var node = document.createElement(tag);
      if (className) node.className = className;
      if (text !== undefined) node.textContent = text;
      return node;
    }

    function option(href, name, meta, kind) {
      var link = element("a", "search-results__item");
      link.href = href;
      link.setAttribute("role", "option");
      link.setAttribute("aria-selected", "false");
      link.setAttribute("tabindex", "-1");
      if (kind) link.appendChild(element("span", "badge badge--" + kind, kind));
      link.appendChild(element("span", "search-results__name", name));
      if (meta) link.appendChild(element("span", "search-results__meta", meta));
      return link;
    }

    function group(label, items) {
      if (items.length === 0) return;
      var box = element("div", "search-results__group");
      box.setAttribute("role", "group");
      var heading = element("div", "search-results__label", label);
      heading.id = "site-search-group-" + label.toLowerCase();
      box.setAttribute("aria-labelledby", heading.id);
      box.appendChild(heading);
      items.forEach(function (item) {
        box.appendChild(item);
      });
      list.appendChild(box);
    }

    function render(query, data) {
      list.textContent = "";
      active = -1;
      var namespaces = (data.namespaces || []).map(function (ns) {
        return option("/n/" + encodeURIComponent(ns.name), ns.name, ns.kind || "", ns.visibility);
      });
      var repositories = (data.repositories || []).map(function (repo) {
        var tags = repo.tag_count === 1 ? "1 tag" : repo.tag_count + " tags";
        return option("/r/" + encodePath(repo.name), repo.name, tags);
      });
      var tags = (data.tags || []).map(function (tag) {
        return option(
          "/r/" + encodePath(tag.repository) + "/-/tags/" + encodeURIComponent(tag.tag),
          tag.repository + ":" + tag.tag,
          (tag.digest || "").replace(/^sha256:/, "").slice(0, 12)
        );
      });
      group("Namespaces", namespaces);
      group("Repositories", repositories);
      group("Tags", tags);
      options().forEach(function (item, i) {
        item.id = "site-search-option-" + i;
      });
      if (namespaces.length + repositories.length + tags.length === 0) {
        list.appendChild(element("div", "search-results__empty", "No matches for \u201c" + query + "\u201d"));
      }
      var all = element("a", "search-results__all", "All results for \u201c" + query + "\u201d");
      all.href = "/search?q=" + encodeURIComponent(query);
      all.setAttribute("tabindex", "-1");
      list.appendChild(all);
      show();
    }

    function search(query) {
      if (controller) controller.abort();
      controller = typeof AbortController === "function" ? new AbortController() : null;
      var url = "/api/v1/search?limit=6&q=" + encodeURIComponent(query);
      fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined,
      })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          if (input.value.trim() === query) render(query, data);
        })
        .catch(function (error) {
          if (error && error.name === "AbortError") return;
          hide();
        });
    }

    input.addEventListener("input", function () {
      var query = input.value.trim();
      clearTimeout(timer);
      if (query === lastQuery && !list.hidden) return;
      lastQuery = query;
      if (query.length < 2) {
        if (controller) controller.abort();
        hide();
        return;
      }
      timer = setTimeout(function () {
        search(query);
      }, 200);
    });

    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        if (!list.hidden) {
          event.preventDefault();
          hide();
        } else {
          input.blur();
        }
        return;
      }
      if (list.hidden) {
        if (event.key === "ArrowDown" && options().length > 0) {
          event.preventDefault();
          show();
          select(0);
        }
        return;
      }
      if (event.key === "ArrowDown") {
        event.preventDefault();
        select(active + 1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        select(active - 1);
      } else if (event.key === "Enter" && active >= 0) {
        var item = options()[active];
        if (item) {
          event.preventDefault();
          window.location.assign(item.href);
        }
      }
    });

    input.addEventListener("focus", function () {
      if (input.value.trim().length >= 2 && options().length > 0 && input.value.trim() === lastQuery) show();
    });

    document.addEventListener("click", function (event) {
      if (!container.contains(event.target)) hide();
    });

    container.addEventListener("focusout", function (event) {
      if (!container.contains(event.relatedTarget)) hide();
    });
  }

  function init() {
    revealCopyButtons(document);
    setupSearch();
  }

  // Parts of a page replaced by a live update bring their copy buttons hidden again.
  document.addEventListener("wharf:live-updated", function () {
    revealCopyButtons(document);
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
