// codeartifact-local console: the live event list. Rows are built with textContent only,
// so nothing in an event is ever read as markup.
(function () {
  "use strict";
  var status = document.getElementById("events-status");
  var body = document.querySelector("#events tbody");
  if (!status || !body || !window.EventSource) { return; }
  var source = new EventSource(status.getAttribute("data-stream"));
  source.onopen = function () { status.textContent = "Live: new events appear at the top."; };
  source.onerror = function () { status.textContent = "Disconnected; retrying…"; };
  source.onmessage = function (message) {
    var item;
    try { item = JSON.parse(message.data); } catch (e) { return; }
    var event = item.event || {};
    var d = event.detail || {};
    var pkg = d.packageNamespace ? d.packageNamespace + "/" + d.packageName : d.packageName;
    var row = document.createElement("tr");
    row.className = "event";
    [event.time, d.operationType, d.domainName, d.repositoryName, d.packageFormat, pkg,
     d.packageVersion, d.packageVersionState].forEach(function (text) {
      var cell = document.createElement("td");
      cell.textContent = text == null ? "" : String(text);
      row.appendChild(cell);
    });
    body.insertBefore(row, body.firstChild);
    while (body.rows.length > 500) { body.deleteRow(body.rows.length - 1); }
  };
}());
