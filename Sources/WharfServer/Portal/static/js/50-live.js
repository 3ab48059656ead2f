// Live pages: an element with data-live-source="/live?…" opens a server-sent event stream; when a push or a
// delete arrives, the page fetches itself again and swaps in every element marked data-live-region (by id), so
// the server renders the new state exactly as a reload would. A data-live-status element shows whether the
// stream is connected. Without JavaScript the page is simply static (reload to see changes).
(function () {
  "use strict";

  var source = document.querySelector("[data-live-source]");
  if (!source || typeof window.EventSource !== "function") return;
  var status = document.querySelector("[data-live-status]");
  var pending = null;
  var refreshing = false;
  var again = false;

  function show(connected) {
    if (!status) return;
    status.hidden = false;
    status.classList.toggle("live--on", connected);
    status.classList.toggle("live--off", !connected);
    var label = status.querySelector("[data-live-label]") || status;
    label.textContent = connected ? "Live" : "Reconnecting…";
  }

  function refresh() {
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-region]").forEach(function (region) {
          var replacement = region.id ? fresh.getElementById(region.id) : null;
          if (replacement) region.replaceWith(document.importNode(replacement, true));
        });
        document.dispatchEvent(new CustomEvent("wharf:live-updated"));
      })
      .catch(function () {
        // The next event tries again.
      })
      .then(function () {
        refreshing = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  function schedule() {
    if (pending) clearTimeout(pending);
    pending = setTimeout(function () {
      pending = null;
      refresh();
    }, 250);
  }

  var stream = new EventSource(source.getAttribute("data-live-source"));
  stream.addEventListener("open", function () {
    show(true);
  });
  stream.addEventListener("error", function () {
    show(false);
  });
  stream.addEventListener("push", schedule);
  stream.addEventListener("delete", schedule);
  window.addEventListener("pagehide", function () {
    stream.close();
  });
})();
