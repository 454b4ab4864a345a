// Signoff reviewer console: live inbox rows (EventSource on /console/stream) and running countdowns.
// Plain browser script, no framework; every value reaches the page through textContent.
(function () {
  'use strict';

  function countdown(iso) {
    var ms = Date.parse(iso) - Date.now();
    if (isNaN(ms)) return 'unknown';
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    var text = d > 0 ? d + ' d ' + h + ' h' : h > 0 ? h + ' h ' + m + ' min' : m > 0 ? m + ' min ' + (s % 60) + ' s' : s + ' s';
    return ms >= 0 ? 'in ' + text : 'expired ' + text + ' ago';
  }

  function tick() {
    var times = document.querySelectorAll('time[data-countdown]');
    for (var i = 0; i < times.length; i++) times[i].textContent = countdown(times[i].getAttribute('datetime'));
  }

  function announce(text) {
    var region = document.getElementById('flash');
    if (!region) return;
    var p = document.createElement('p');
    p.className = 'flash flash-live';
    p.textContent = text;
    region.replaceChildren(p);
  }

  function cell(tag, col, text) {
    var el = document.createElement(tag);
    if (col) el.setAttribute('data-col', col);
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function rowFor(a) {
    var tr = document.createElement('tr');
    tr.id = 'row-' + a.tenant + '-' + a.job_id;
    tr.setAttribute('data-job-id', a.job_id);
    tr.setAttribute('data-tenant', a.tenant);
    var th = cell('th');
    th.setAttribute('scope', 'row');
    var link = document.createElement('a');
    link.href = '/console/approvals/' + encodeURIComponent(a.job_id) + '?tenant=' + encodeURIComponent(a.tenant);
    link.textContent = a.job_id;
    th.appendChild(link);
    tr.appendChild(th);
    tr.appendChild(cell('td', 'topic', a.topic));
    tr.appendChild(cell('td', 'tenant', a.tenant));
    tr.appendChild(cell('td', 'rule', a.rule_id === null ? '(default)' : a.rule_id));
    tr.appendChild(cell('td', 'submitter', a.request && a.request.submitted_by));
    tr.appendChild(cell('td', 'votes'));
    var expires = cell('td', 'expires');
    var time = document.createElement('time');
    time.setAttribute('datetime', a.expires_at);
    time.setAttribute('data-countdown', '');
    time.textContent = countdown(a.expires_at);
    expires.appendChild(time);
    tr.appendChild(expires);
    tr.appendChild(cell('td', 'drift'));
    update(tr, a);
    return tr;
  }

  function update(tr, a) {
    tr.querySelector('[data-col="votes"]').textContent = a.approvals + ' of ' + a.required;
    var drift = tr.querySelector('[data-col="drift"]');
    drift.replaceChildren();
    if (a.drifted) {
      var badge = document.createElement('span');
      badge.className = 'badge badge-warn';
      badge.textContent = 'drifted';
      drift.appendChild(badge);
    } else drift.textContent = 'current';
  }

  // An escalation (or reminder) step fired for a row: a badge next to its job id, kept while the page lives.
  function flag(tr, kind) {
    var th = tr.querySelector('th');
    var cls = kind === 'escalated' ? 'badge badge-warn badge-escalated' : 'badge badge-reminded';
    if (!th || th.querySelector(kind === 'escalated' ? '.badge-escalated' : '.badge-reminded')) return;
    var badge = document.createElement('span');
    badge.className = cls;
    badge.textContent = kind;
    th.appendChild(document.createTextNode(' '));
    th.appendChild(badge);
  }

  // The page's filters the stream does not apply itself (it applies the caller's access and the topic).
  function matches(body, a) {
    var tenant = body.getAttribute('data-tenant');
    var rule = body.getAttribute('data-rule');
    var drifted = body.getAttribute('data-drifted');
    var within = Number(body.getAttribute('data-expires-within'));
    if (tenant && a.tenant !== tenant) return false;
    if (rule && a.rule_id !== rule) return false;
    if (drifted === 'true' && !a.drifted) return false;
    if (drifted === 'false' && a.drifted) return false;
    if (within > 0 && Date.parse(a.expires_at) > Date.now() + within * 1000) return false;
    return true;
  }

  function live(body) {
    var status = document.getElementById('live-status');
    var empty = document.getElementById('empty');
    var topic = body.getAttribute('data-topic');
    var source = new EventSource('/console/stream' + (topic ? '?topic=' + encodeURIComponent(topic) : ''));
    function setStatus(state, text) {
      status.setAttribute('data-state', state);
      status.textContent = text;
    }
    function refreshEmpty() {
      empty.hidden = body.querySelector('tr') !== null;
    }
    source.addEventListener('open', function () {
      setStatus('live', 'Live updates: on');
    });
    source.addEventListener('error', function () {
      if (source.readyState !== EventSource.CLOSED) {
        setStatus('reconnecting', 'Live updates: reconnecting…');
        return;
      }
      // Refused for good (session ended, or the stream lost its place): load the page again.
      setStatus('off', 'Live updates: off. Reloading…');
      setTimeout(function () {
        location.reload();
      }, 5000);
    });
    function onChange(event) {
      var change = JSON.parse(event.data);
      var a = change.approval;
      var existing = document.getElementById('row-' + a.tenant + '-' + a.job_id);
      var stepped = change.kind === 'reminded' || change.kind === 'escalated';
      var open = change.kind === 'requested' || change.kind === 'vote_recorded' || change.kind === 'drifted' || stepped;
      if (open && matches(body, a)) {
        if (existing) update(existing, a);
        else if (body.getAttribute('data-live') === 'append') {
          existing = rowFor(a);
          body.appendChild(existing);
          announce('New approval: ' + a.job_id + ' (' + a.topic + ')');
        }
        if (existing && stepped) {
          flag(existing, change.kind);
          if (change.kind === 'escalated') announce('Approval ' + a.job_id + ' was escalated.');
        }
      } else if (existing) {
        existing.remove();
        if (!open) announce('Approval ' + a.job_id + ' is ' + a.state + '.');
      }
      refreshEmpty();
    }
    ['requested', 'vote_recorded', 'granted', 'rejected', 'expired', 'invalidated', 'drifted', 'reminded', 'escalated'].forEach(function (kind) {
      source.addEventListener(kind, onChange);
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    tick();
    setInterval(tick, 1000);
    var body = document.getElementById('approvals');
    if (body && typeof EventSource === 'function') live(body);
    var flash = document.querySelector('#flash .flash');
    if (flash) {
      var main = document.getElementById('main');
      if (main) main.focus();
    }
  });
})();
