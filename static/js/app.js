// Editwatch's own script. The pages work without it; it only makes them
// nicer: theme choice, copy buttons, keyboard shortcuts, local relative
// times, pausing of htmx polling, and confirmation of destructive forms.
// It runs under a strict CSP: no eval, no inline handlers, no style
// attributes (classes and the hidden attribute only).
(function () {
  'use strict';

  var THEME_KEY = 'editwatch-theme';
  var PAUSE_KEY = 'editwatch-live-paused';
  var root = document.documentElement;

  function storageGet(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function storageSet(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch (e) { /* private mode: the choice just does not persist */ }
  }

  // ---- Theme: light, dark or system, applied as the "dark" class on <html>.
  var darkQuery = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;

  function themeChoice() {
    var stored = storageGet(THEME_KEY);
    if (stored === 'light' || stored === 'dark' || stored === 'system') return stored;
    return root.getAttribute('data-theme-default') || 'system';
  }
  function applyTheme(choice) {
    var dark = choice === 'dark' || (choice === 'system' && !!darkQuery && darkQuery.matches);
    root.classList.toggle('dark', dark);
    root.setAttribute('data-theme', choice);
  }
  function initTheme() {
    var choice = themeChoice();
    applyTheme(choice);
    document.querySelectorAll('select[data-theme-select]').forEach(function (select) {
      select.value = choice;
      select.addEventListener('change', function () {
        storageSet(THEME_KEY, select.value);
        applyTheme(select.value);
      });
    });
    if (darkQuery && darkQuery.addEventListener) {
      darkQuery.addEventListener('change', function () { applyTheme(themeChoice()); });
    }
  }

  // ---- Time zone: UTC, or the browser's own IANA zone, in a cookie the
  // server formats times with (views.TimeZoneCookie).
  var TZ_COOKIE = 'editwatch-tz';
  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch (e) { return 'UTC'; }
  }
  function zoneChoice() {
    var m = document.cookie.match(/(?:^|;\s*)editwatch-tz=([^;]*)/);
    var v = m ? decodeURIComponent(m[1]) : '';
    return v && v !== 'UTC' ? 'local' : 'utc';
  }
  function writeZone(choice) {
    var v = choice === 'local' ? browserZone() : 'UTC';
    document.cookie = TZ_COOKIE + '=' + encodeURIComponent(v) + '; path=/; max-age=31536000; samesite=lax';
  }
  function initZone() {
    // A person who chose local time and travelled gets the new zone from
    // the next page on.
    if (zoneChoice() === 'local') writeZone('local');
    document.querySelectorAll('select[data-tz-select]').forEach(function (select) {
      select.value = zoneChoice();
      select.addEventListener('change', function () { writeZone(select.value); window.location.reload(); });
    });
  }

  // ---- Progressive enhancement switches.
  function revealJSOnly(scope) {
    scope.querySelectorAll('[data-js-only]').forEach(function (el) { el.hidden = false; });
    scope.querySelectorAll('[data-no-js]').forEach(function (el) { el.hidden = true; });
  }

  // ---- Copy to clipboard: <button data-copy="text"> or data-copy-target="id".
  function fallbackCopy(text) {
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'sr-only';
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error('copy refused'));
  }
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }
  function announce(message) {
    var region = document.getElementById('live-announcer');
    if (!region) return;
    region.textContent = '';
    window.setTimeout(function () { region.textContent = message; }, 30);
  }
  function onCopyClick(button) {
    var text = button.getAttribute('data-copy');
    var targetID = button.getAttribute('data-copy-target');
    if (targetID) {
      var target = document.getElementById(targetID);
      text = target ? target.textContent : '';
    }
    if (!text) return;
    copyText(text).then(function () {
      button.classList.add('text-emerald-600', 'dark:text-emerald-400');
      button.setAttribute('data-copied', 'true');
      announce('Copied to clipboard');
      window.setTimeout(function () {
        button.classList.remove('text-emerald-600', 'dark:text-emerald-400');
        button.removeAttribute('data-copied');
      }, 1500);
    }, function () { announce('Copy failed: select the text and copy it by hand'); });
  }

  // ---- Relative times: <time datetime="RFC3339" data-relative>.
  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function relativeText(then, now) {
    var seconds = Math.round((now - then) / 1000);
    var future = seconds < 0;
    var s = Math.abs(seconds);
    var text;
    if (s < 45) return future ? 'in a moment' : 'just now';
    if (s < 3600) text = Math.max(1, Math.round(s / 60)) + ' min';
    else if (s < 86400) text = Math.round(s / 3600) + ' h';
    else if (s < 30 * 86400) text = Math.round(s / 86400) + ' d';
    else return then.getFullYear() + '-' + pad(then.getMonth() + 1) + '-' + pad(then.getDate());
    return future ? 'in ' + text : text + ' ago';
  }
  var absoluteFormat = null;
  try {
    absoluteFormat = new Intl.DateTimeFormat(undefined, {
      year: 'numeric', month: 'short', day: 'numeric',
      hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
      timeZone: zoneChoice() === 'local' ? undefined : 'UTC'
    });
  } catch (e) { absoluteFormat = null; }
  function refreshTimes(scope) {
    var now = Date.now();
    scope.querySelectorAll('time[data-relative]').forEach(function (el) {
      var then = new Date(el.getAttribute('datetime'));
      if (isNaN(then.getTime())) return;
      el.textContent = relativeText(then, now);
      el.title = absoluteFormat ? absoluteFormat.format(then) : then.toString();
    });
  }

  // ---- Live refresh: htmx polls elements marked data-poll; we cancel those
  // requests while the person paused them or the tab is hidden.
  function isPaused() { return storageGet(PAUSE_KEY) === '1'; }
  function renderLiveState() {
    var paused = isPaused();
    document.querySelectorAll('[data-live-toggle]').forEach(function (button) {
      button.setAttribute('aria-pressed', paused ? 'true' : 'false');
      var label = button.querySelector('[data-live-label]');
      if (label) label.textContent = paused ? 'Resume live refresh' : 'Pause live refresh';
    });
    document.querySelectorAll('[data-live-dot]').forEach(function (dot) {
      dot.classList.toggle('bg-emerald-500', !paused);
      dot.classList.toggle('animate-pulse', !paused);
      dot.classList.toggle('bg-slate-400', paused);
    });
  }
  function onBeforeRequest(evt) {
    var elt = evt.detail && evt.detail.elt;
    if (!elt || !elt.closest || !elt.closest('[data-poll]')) return;
    if (isPaused() || document.hidden) { evt.preventDefault(); return; }
    // While the page's event stream is open, the server pushes each change
    // rendered (and, when it opens, what changed since the page was
    // rendered): the timer's polls are only the fallback for when it is not.
    if (elt.closest('[data-sse-open]')) evt.preventDefault();
  }
  // New runs arrive as rows for the top of the list. A list paged or
  // scrolled away from its top only counts them in its "N new runs" bar,
  // so nothing moves under the reader's eyes.
  function onStreamMessage(evt) {
    var rows = evt.target;
    if (rows && rows.hasAttribute && rows.hasAttribute('data-live-deleted-rows')) {
      // A run deleted meanwhile leaves the list, and the selection.
      evt.preventDefault();
      var runID = evt.detail && evt.detail.data;
      document.querySelectorAll('[data-testid=run-row]').forEach(function (row) {
        if (row.getAttribute('data-run-id') === runID) row.remove();
      });
      renderBulkBar();
      return;
    }
    if (!rows || !rows.hasAttribute || !rows.hasAttribute('data-live-new-rows')) return;
    var away = rows.hasAttribute('data-live-paged') || rows.getBoundingClientRect().top < 0;
    if (!away) {
      // The first run of an empty list: its table was kept hidden for it.
      var table = rows.closest('[data-live-empty-table]');
      if (table) {
        table.hidden = false;
        table.removeAttribute('data-live-empty-table');
        var empty = document.querySelector('[data-testid=runs-empty]');
        if (empty) empty.hidden = true;
      }
      return;
    }
    evt.preventDefault();
    var bar = document.querySelector('[data-live-new-bar]');
    if (!bar) return;
    var count = bar.querySelector('[data-live-new-count]');
    var n = (parseInt(count.textContent, 10) || 0) + 1;
    count.textContent = String(n);
    bar.querySelector('[data-live-new-noun]').textContent = n === 1 ? 'run' : 'runs';
    bar.hidden = false;
  }
  // The SSE extension reports its stream's state on the sse-connect element.
  // The server sends "paused" to a tab whose stream a newer tab of the same
  // session took (the per-session cap): that tab closes its stream for good,
  // so tabs do not evict each other in a loop, and its timers take over.
  function onStreamOpen(evt) {
    var elt = evt.target;
    if (!elt || !elt.setAttribute) return;
    elt.setAttribute('data-sse-open', '');
    var source = evt.detail && evt.detail.source;
    if (!source || source.editwatchPausable) return;
    source.editwatchPausable = true;
    source.addEventListener('paused', function () {
      source.close();
      elt.removeAttribute('data-sse-open');
      var notice = document.querySelector('[data-live-paused-notice]');
      if (notice) notice.hidden = false;
      var region = document.getElementById('live-announcer');
      if (region) region.textContent = 'Live updates paused in this tab.';
    });
  }
  function onStreamDown(evt) { if (evt.target && evt.target.removeAttribute) evt.target.removeAttribute('data-sse-open'); }

  // ---- Confirmation of destructive forms: <form data-confirm="message">.
  var pendingForm = null;
  var pendingSubmitter = null;
  function proceed(form, submitter) {
    var field = form.querySelector('input[name="confirmed"]');
    if (field) field.value = '1';
    form.setAttribute('data-confirmed', 'true');
    if (form.requestSubmit) form.requestSubmit(submitter || undefined);
    else form.submit();
  }
  function onSubmit(evt) {
    var form = evt.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-confirm')) return;
    if (form.getAttribute('data-confirmed') === 'true') {
      form.removeAttribute('data-confirmed');
      return;
    }
    evt.preventDefault();
    var message = form.getAttribute('data-confirm');
    var dialog = document.getElementById('confirm-dialog');
    if (!dialog || typeof dialog.showModal !== 'function') {
      if (window.confirm(message)) proceed(form, evt.submitter);
      return;
    }
    pendingForm = form;
    pendingSubmitter = evt.submitter || null;
    dialog.querySelector('[data-confirm-message]').textContent = message;
    dialog.querySelector('[data-confirm-accept]').textContent = form.getAttribute('data-confirm-label') || 'Confirm';
    dialog.returnValue = '';
    dialog.showModal();
    var cancel = dialog.querySelector('[data-confirm-cancel]');
    if (cancel) cancel.focus();
  }
  function onDialogClose() {
    var dialog = document.getElementById('confirm-dialog');
    // The close event is queued: a quick cancel-then-delete can deliver the
    // cancel's close after the dialog was opened again for the next form.
    if (dialog.open) return;
    var form = pendingForm;
    var submitter = pendingSubmitter;
    pendingForm = null;
    pendingSubmitter = null;
    if (form && dialog.returnValue === 'confirm') proceed(form, submitter);
  }

  // ---- Keyboard: "/" focuses the search box; j/k or arrows move through the
  // runs table, Enter opens the selected run, Escape clears the selection.
  var selectedRunID = null;
  function isEditable(el) {
    if (!el) return false;
    var tag = el.tagName;
    return el.isContentEditable || tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT';
  }
  function navRows() {
    var table = document.querySelector('[data-nav-table]');
    return table ? Array.prototype.slice.call(table.querySelectorAll('tbody tr[data-run-id]')) : [];
  }
  function markSelected(rows) {
    rows.forEach(function (row) {
      var on = row.getAttribute('data-run-id') === selectedRunID;
      row.classList.toggle('is-selected', on);
      if (on) row.setAttribute('aria-selected', 'true');
      else row.removeAttribute('aria-selected');
    });
  }
  function moveSelection(step) {
    var rows = navRows();
    if (!rows.length) return;
    var index = -1;
    rows.forEach(function (row, i) { if (row.getAttribute('data-run-id') === selectedRunID) index = i; });
    index = index < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, index + step));
    var row = rows[index];
    selectedRunID = row.getAttribute('data-run-id');
    markSelected(rows);
    row.setAttribute('tabindex', '-1');
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: 'nearest' });
  }
  function openSelection() {
    var rows = navRows();
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute('data-run-id') === selectedRunID) {
        var link = rows[i].querySelector('a[data-row-link]');
        if (link) window.location.assign(link.href);
        return true;
      }
    }
    return false;
  }
  function onKeydown(evt) {
    if (evt.defaultPrevented || evt.altKey || evt.ctrlKey || evt.metaKey) return;
    var active = document.activeElement;
    if (isEditable(active)) {
      if (evt.key === 'Escape' && active.hasAttribute('data-search')) active.blur();
      return;
    }
    if (document.querySelector('dialog[open]')) return;
    var onRowOrBody = !active || active === document.body || (active.matches && active.matches('tr[data-run-id]'));
    switch (evt.key) {
      case '?':
        evt.preventDefault();
        showShortcuts();
        break;
      case '/':
        var search = document.querySelector('[data-search]');
        if (search) { evt.preventDefault(); search.focus(); search.select(); }
        break;
      case 'j':
        if (navRows().length) { evt.preventDefault(); moveSelection(1); }
        break;
      case 'k':
        if (navRows().length) { evt.preventDefault(); moveSelection(-1); }
        break;
      case 'ArrowDown':
        if (onRowOrBody && navRows().length) { evt.preventDefault(); moveSelection(1); }
        break;
      case 'ArrowUp':
        if (onRowOrBody && navRows().length) { evt.preventDefault(); moveSelection(-1); }
        break;
      case 'Enter':
        if (selectedRunID && onRowOrBody && openSelection()) evt.preventDefault();
        break;
      case 'Escape':
        if (selectedRunID) { selectedRunID = null; markSelected(navRows()); }
        break;
    }
  }

  // ---- Error excerpts: <pre> with a caret line under the offending column
  // (<span data-caret>). On a narrow screen the excerpt scrolls sideways;
  // scroll it so the caret is in view instead of cut off at the right.
  function revealCarets(scope) {
    scope.querySelectorAll('pre [data-caret]').forEach(function (caret) {
      var pre = caret.closest('pre');
      var right = caret.getBoundingClientRect().right - pre.getBoundingClientRect().left + pre.scrollLeft;
      if (right > pre.clientWidth) pre.scrollLeft = right - pre.clientWidth / 2;
    });
  }

  // ---- Forms that survive errors: an error answer carrying the
  // X-Editwatch-Form-Kept header is the form again, as the person filled
  // it, with the error inside; swap it in like a 422. Any other failed
  // request of a form (our own 500, the network) is said in the form's
  // [data-request-error] region, never swallowed.
  function onBeforeSwap(evt) {
    var xhr = evt.detail && evt.detail.xhr;
    if (xhr && xhr.getResponseHeader('X-Editwatch-Form-Kept') === 'true') {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  }
  function onRequestFailed(evt) {
    var elt = evt.detail && evt.detail.elt;
    var xhr = evt.detail && evt.detail.xhr;
    if (xhr && xhr.getResponseHeader && xhr.getResponseHeader('X-Editwatch-Form-Kept') === 'true') return;
    var form = elt && elt.closest ? elt.closest('form') : null;
    var region = form && form.querySelector('[data-request-error]');
    if (!region) return;
    var status = xhr && xhr.status ? ' (HTTP ' + xhr.status + ')' : '';
    region.textContent = 'The request failed' + status + ': nothing was changed and what you entered is still here. ' +
      'Try again, or submit the form without JavaScript to see the full error.';
    region.hidden = false;
  }

  // ---- Bulk selection: the bulk bar's buttons show once a run is ticked,
  // so they cost no Tab stops on the way to the first run.
  function renderBulkBar() {
    var bar = document.querySelector('[data-bulk-bar]');
    if (!bar) return;
    var any = !!document.querySelector('input[form="bulk-form"]:checked');
    var controls = bar.querySelector('[data-bulk-controls]');
    var hint = bar.querySelector('[data-bulk-hint]');
    if (controls) controls.hidden = !any;
    if (hint) hint.hidden = any;
  }

  // ---- "?" shows the keyboard shortcuts in a dialog built here, so every
  // page has it without markup of its own.
  var SHORTCUTS = [
    ['/', 'Search the runs list'],
    ['j / k or ↓ / ↑', 'Move through the runs'],
    ['Enter', 'Open the selected run'],
    ['Escape', 'Clear the selection, leave the search box, close this'],
    ['?', 'Show these shortcuts']
  ];
  function showShortcuts() {
    var dialog = document.getElementById('shortcuts-dialog');
    if (!dialog) {
      dialog = document.createElement('dialog');
      dialog.id = 'shortcuts-dialog';
      dialog.className = 'card max-w-md p-0';
      dialog.setAttribute('aria-labelledby', 'shortcuts-title');
      dialog.setAttribute('data-testid', 'shortcuts-dialog');
      var body = document.createElement('div');
      body.className = 'card-body space-y-3';
      var title = document.createElement('h2');
      title.id = 'shortcuts-title';
      title.className = 'text-base font-semibold';
      title.textContent = 'Keyboard shortcuts';
      body.appendChild(title);
      var list = document.createElement('dl');
      list.className = 'dl-grid text-sm';
      SHORTCUTS.forEach(function (s) {
        var dt = document.createElement('dt');
        var kbd = document.createElement('kbd');
        kbd.className = 'kbd';
        kbd.textContent = s[0];
        dt.appendChild(kbd);
        var dd = document.createElement('dd');
        dd.textContent = s[1];
        list.appendChild(dt);
        list.appendChild(dd);
      });
      body.appendChild(list);
      var form = document.createElement('form');
      form.method = 'dialog';
      form.className = 'flex justify-end';
      var close = document.createElement('button');
      close.className = 'btn btn-secondary btn-sm';
      close.textContent = 'Close';
      form.appendChild(close);
      body.appendChild(form);
      dialog.appendChild(body);
      document.body.appendChild(dialog);
    }
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
  }

  function enhance(scope) {
    revealJSOnly(scope);
    refreshTimes(scope);
    revealCarets(scope);
  }

  function init() {
    initTheme();
    initZone();
    enhance(document);
    renderLiveState();
    markSelected(navRows());

    document.addEventListener('click', function (evt) {
      var copy = evt.target.closest && evt.target.closest('[data-copy], [data-copy-target]');
      if (copy) { evt.preventDefault(); onCopyClick(copy); return; }
      var toggle = evt.target.closest && evt.target.closest('[data-live-toggle]');
      if (toggle) {
        storageSet(PAUSE_KEY, isPaused() ? null : '1');
        renderLiveState();
      }
    });
    renderBulkBar();
    document.addEventListener('change', function (evt) {
      var el = evt.target;
      if (el && el.getAttribute && el.getAttribute('form') === 'bulk-form') renderBulkBar();
      if (el && el.hasAttribute && el.hasAttribute('data-autosubmit') && el.form) {
        if (el.form.requestSubmit) el.form.requestSubmit(); else el.form.submit();
      }
    });
    document.addEventListener('submit', onSubmit);
    document.addEventListener('keydown', onKeydown);
    var dialog = document.getElementById('confirm-dialog');
    if (dialog) dialog.addEventListener('close', onDialogClose);

    document.body.addEventListener('htmx:beforeRequest', onBeforeRequest);
    document.body.addEventListener('htmx:beforeSwap', onBeforeSwap);
    document.body.addEventListener('htmx:responseError', onRequestFailed);
    document.body.addEventListener('htmx:sendError', onRequestFailed);
    document.body.addEventListener('htmx:sseOpen', onStreamOpen);
    document.body.addEventListener('htmx:sseBeforeMessage', onStreamMessage);
    document.body.addEventListener('htmx:sseError', onStreamDown);
    document.body.addEventListener('htmx:sseClose', onStreamDown);
    // New content from htmx (a polled row, a detected schema) gets the same
    // treatment as the page did.
    document.body.addEventListener('htmx:load', function (evt) {
      var elt = evt.detail && evt.detail.elt;
      if (!elt || !elt.querySelectorAll) return;
      enhance(elt.parentNode || elt);
      markSelected(navRows());
      renderLiveState();
    });
    window.addEventListener('storage', function (evt) {
      if (evt.key === PAUSE_KEY) renderLiveState();
      if (evt.key === THEME_KEY) {
        var choice = themeChoice();
        applyTheme(choice);
        document.querySelectorAll('select[data-theme-select]').forEach(function (s) { s.value = choice; });
      }
    });
    window.setInterval(function () { refreshTimes(document); }, 30000);
    window.addEventListener('resize', function () { revealCarets(document); });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
