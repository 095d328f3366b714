// Live updates: the server says when what the page shows may have changed (server-sent
// events); the page then reloads its live region (#live) with htmx. No other script.
(function () {
  "use strict";
  if (!window.EventSource) { return; }
  var source = new EventSource("/ui/events");
  source.addEventListener("change", function () {
    var live = document.getElementById("live");
    if (live && window.htmx) { window.htmx.trigger(live, "refresh"); }
  });
  source.addEventListener("signed-out", function () {
    source.close();
    window.location.assign("/ui/sign-in");
  });
})();
