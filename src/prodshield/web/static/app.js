// prodshield: small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  function localTimes() {
    var nodes = document.querySelectorAll("time[data-ts]");
    for (var i = 0; i < nodes.length; i++) {
      var ts = parseFloat(nodes[i].getAttribute("data-ts"));
      if (!isFinite(ts) || ts <= 0) continue;
      var d = new Date(ts * 1000);
      nodes[i].setAttribute("datetime", d.toISOString());
      nodes[i].title = d.toLocaleString();
    }
  }
  function confirmations() {
    var forms = document.querySelectorAll("form[data-confirm]");
    for (var i = 0; i < forms.length; i++) {
      forms[i].addEventListener("submit", function (ev) {
        if (!window.confirm(this.getAttribute("data-confirm"))) ev.preventDefault();
      });
    }
  }
  function autoRefresh() {
    // The public status page reloads itself every minute while visible.
    if (!document.body.classList.contains("status")) return;
    window.setInterval(function () {
      if (document.visibilityState === "visible") window.location.reload();
    }, 60000);
  }
  function copyButtons() {
    // "Copy" next to a heartbeat URL: the text stays selectable without JavaScript.
    var buttons = document.querySelectorAll("button[data-copy]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function () {
        var button = this;
        var source = document.getElementById(button.getAttribute("data-copy"));
        if (!source) return;
        var text = source.textContent;
        function done() { button.textContent = "Copied"; }
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () {});
        } else {
          var range = document.createRange();
          range.selectNodeContents(source);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          if (document.execCommand("copy")) done();
        }
      });
    }
  }
  function activeTabInView() {
    // On a phone the dashboard's tabs are one row that scrolls sideways: show the current one.
    var tabs = document.querySelector(".tabs");
    var active = tabs && tabs.querySelector("a.active");
    if (!active || tabs.scrollWidth <= tabs.clientWidth) return;
    var right = active.offsetLeft + active.offsetWidth - tabs.offsetLeft;
    if (right > tabs.clientWidth) tabs.scrollLeft = right - tabs.clientWidth + 16;
  }
  document.addEventListener("DOMContentLoaded", function () {
    activeTabInView();
    copyButtons();
    localTimes();
    confirmations();
    autoRefresh();
  });
})();
