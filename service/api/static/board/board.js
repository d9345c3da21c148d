// The situation board polls /board/updates with the version it shows (If-None-Match): 304
// while nothing changed, else the events' part anew, swapped in whole. It counts down each
// open action's time left from its due time, on the server's clock (the Date of each answer),
// since a wall display's own clock is not to be trusted.
(function () {
  "use strict";
  var board = document.getElementById("board");
  var status = document.getElementById("status");
  if (!board) { return; }
  var etag = board.dataset.etag;
  var every = Number(board.dataset.pollMs) || 2000;
  var zone = board.dataset.timeZone; // the server's one zone (service.plan.local_time)
  var skew = 0; // server clock minus this one, ms
  var timer = null;
  var asking = false;

  function clock(date) {
    return date.toLocaleTimeString("zh-CN", { hour12: false, timeZone: zone });
  }

  // The words come from the server's catalogue (service.words), their {names} filled here.
  var words = JSON.parse(board.dataset.words || "{}");
  function say(sentence, values) {
    return String(sentence).replace(/\{(\w+)\}/g, function (whole, name) {
      return name in values ? values[name] : whole;
    });
  }

  // A month away reads 29 天 23 小时, not 43198 分钟; the last hour in minutes.
  function span(ms) {
    var minutes = Math.ceil(ms / 60000);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    if (days > 0) { return say(words.days, { d: days, h: hours }); }
    if (hours > 0) { return say(words.hours, { h: hours, m: minutes % 60 }); }
    return say(words.minutes, { m: minutes });
  }

  function countDown() {
    var now = Date.now() + skew;
    board.querySelectorAll("[data-due]").forEach(function (left) {
      var ms = Date.parse(left.dataset.due) - now;
      left.textContent = say(ms >= 0 ? words.left : words.late, { t: span(Math.abs(ms)) });
      left.classList.toggle("late", ms < 0);
    });
  }

  // Agencies a viewer folded or unfolded stay so across updates.
  function foldings() {
    var kept = {};
    board.querySelectorAll("details.agency").forEach(function (d) {
      var event = d.closest("[data-event]");
      kept[(event ? event.dataset.event : "") + "/" + d.dataset.agency] = d.open;
    });
    return kept;
  }
  var folded = {};
  board.addEventListener("toggle", function () { folded = foldings(); }, true);

  function swap(html) {
    board.innerHTML = html;
    board.querySelectorAll("details.agency").forEach(function (d) {
      var event = d.closest("[data-event]");
      var key = (event ? event.dataset.event : "") + "/" + d.dataset.agency;
      if (key in folded) { d.open = folded[key]; }
    });
    countDown();
  }

  function poll() {
    timer = null;
    asking = true;
    fetch(board.dataset.updates, {
      headers: { "If-None-Match": etag },
      cache: "no-store",
      credentials: "same-origin",
    }).then(function (answer) {
      var date = answer.headers.get("Date");
      if (date) { skew = Date.parse(date) - Date.now(); }
      if (answer.status === 401) {
        window.location.assign(board.dataset.login);
        return null;
      }
      if (answer.status === 200) {
        etag = answer.headers.get("ETag") || etag;
        return answer.text().then(swap);
      }
      if (answer.status !== 304) { throw new Error("HTTP " + answer.status); }
      return null;
    }).then(function () {
      status.textContent = say(words.heard, { time: clock(new Date(Date.now() + skew)) });
      status.classList.remove("stale");
    }, function () {
      status.textContent = words.lost;
      status.classList.add("stale");
    }).then(function () {
      asking = false;
      schedule();
    });
  }

  function schedule() {
    if (timer === null && !asking && !document.hidden) {
      timer = window.setTimeout(poll, every);
    }
  }

  // A phone in a pocket does not poll; shown again, it asks at once.
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && timer === null && !asking) { poll(); }
  });
  countDown();
  window.setInterval(countDown, 15000);
  schedule();
})();
