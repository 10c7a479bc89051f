// The worklist: an action's answer replaces its row, also when the answer is an error the
// server put beside the field (422) or a refusal (403, 404): htmx swaps only 2xx by
// default. Marked by the server with the X-Worklist-Row header; no rule lives here.
document.addEventListener("htmx:beforeSwap", function (evt) {
  var xhr = evt.detail.xhr;
  if (xhr.status >= 400 && xhr.getResponseHeader("X-Worklist-Row") === "1") {
    evt.detail.shouldSwap = true;
    evt.detail.isError = false;
  }
});
