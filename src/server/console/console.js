// The switchboard console: a tenant's routing map, this week's hours, live
// conversations from the tenant's stream, a playground for read-only
// decisions, and the policy revision serving. Plain JavaScript, served by
// `switchboard serve` from the binary; it speaks only the documented API
// (docs/API.md) with the tenant's token.
'use strict';

const $ = (id) => document.getElementById(id);
const session = { tenant: '', token: '', overview: null, stream: null };

/** Text made safe for HTML. */
function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function status(text, bad = false) {
  $('status').textContent = text;
  $('status').className = bad ? 'bad' : '';
}

async function api(path, options = {}) {
  const response = await fetch(`/v1/tenants/${encodeURIComponent(session.tenant)}${path}`, {
    ...options,
    headers: { Authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.error ? `${body.error.code}: ${body.error.message}` : response.statusText);
    error.status = response.status;
    throw error;
  }
  return body;
}

// ------------------------------------------------------------------ the map

const ROW = 24;
const WIDTH = 200;
const COLUMNS = { number: 10, inbox: 250, team: 500, agent: 750 };

/** Numbers → inboxes → teams → agents, drawn as one SVG. */
function drawMap(overview) {
  const rows = { number: [], inbox: [], team: [], agent: [] };
  const at = { number: new Map(), inbox: new Map(), team: new Map(), agent: new Map() };
  const place = (column, key, label, css, note) => {
    if (!at[column].has(key)) {
      at[column].set(key, rows[column].length);
      rows[column].push({ key, label, css, note });
    }
    return at[column].get(key);
  };
  const edges = [];
  const edge = (from, a, to, b) => edges.push([from, place(from, a), to, place(to, b)]);
  for (const n of overview.numbers) {
    place('number', n.number, n.label ? `${n.number} · ${n.label}` : n.number, 'number');
  }
  for (const inbox of overview.inboxes) {
    let note = `${inbox.kind}${inbox.claim && inbox.kind === 'shared' ? `, claim ${inbox.claim}` : ''}`;
    if (inbox.direct) {
      const d = inbox.direct.deflection;
      const level = d.level === 'team' && d.team ? `team ${d.team}` : d.level;
      note = `direct · deflection ${d.on ? 'on' : 'off'} (${level})`;
    }
    place('inbox', inbox.name, inbox.name, inbox.direct ? 'direct' : 'inbox', note);
    for (const number of inbox.numbers) edge('number', number, 'inbox', inbox.name);
    for (const team of inbox.teams) {
      place('team', team.name, team.name, 'team');
      edge('inbox', inbox.name, 'team', team.name);
      for (const agent of team.agents) {
        place('agent', agent, agent, 'agent');
        edge('team', team.name, 'agent', agent);
      }
    }
    for (const agent of inbox.agents) {
      place('agent', agent, agent, 'agent');
      edge('inbox', inbox.name, 'agent', agent);
    }
    if (inbox.direct) {
      place('agent', inbox.direct.agent, inbox.direct.agent, 'agent');
      edge('inbox', inbox.name, 'agent', inbox.direct.agent);
    }
  }
  const tallest = Math.max(...Object.values(rows).map((r) => r.length), 1);
  const height = (tallest + 1) * ROW + 10;
  const y = (i) => ROW + i * ROW + 4;
  const seen = new Set();
  let paths = '';
  for (const [from, i, to, j] of edges) {
    const key = `${from}${i}:${to}${j}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const x1 = COLUMNS[from] + WIDTH;
    const x2 = COLUMNS[to];
    const y1 = y(i) + ROW / 2 - 2;
    const y2 = y(j) + ROW / 2 - 2;
    const mid = (x1 + x2) / 2;
    paths += `M${x1} ${y1}C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}`;
  }
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${COLUMNS.agent + WIDTH + 20}" height="${height}" role="img" aria-label="routing map">`];
  for (const [column, title] of [['number', 'Numbers'], ['inbox', 'Inboxes'], ['team', 'Teams'], ['agent', 'Agents']]) {
    parts.push(`<text class="head" x="${COLUMNS[column]}" y="16">${title}</text>`);
  }
  parts.push(`<path d="${paths}"/>`);
  for (const [column, list] of Object.entries(rows)) {
    list.forEach((row, i) => {
      const x = COLUMNS[column];
      const title = row.note ? `${row.label} — ${row.note}` : row.label;
      parts.push(
        `<g class="node ${column}" data-name="${esc(row.key)}"><title>${esc(title)}</title>` +
          `<rect class="${row.css}" x="${x}" y="${y(i)}" width="${WIDTH}" height="${ROW - 4}" rx="4"/>` +
          `<text x="${x + 6}" y="${y(i) + 14}">${esc(row.label.length > 30 ? row.label.slice(0, 29) + '…' : row.label)}</text>` +
          (row.note ? `<text class="deflection" x="${x + WIDTH + 4}" y="${y(i) + 14}">${esc(column === 'inbox' && row.css === 'direct' ? row.note.replace('direct · ', '') : '')}</text>` : '') +
          '</g>',
      );
    });
  }
  parts.push('</svg>');
  $('map-canvas').innerHTML = parts.join('');
}

// ---------------------------------------------------------------- the hours

function drawHours(overview) {
  const weeks = [];
  for (const inbox of overview.inboxes) {
    const week = inbox.hours || (inbox.direct && inbox.direct.deflection.hours);
    if (!week) {
      weeks.push(`<div class="week" data-inbox="${esc(inbox.name)}"><h3>${esc(inbox.name)}</h3><p>always open</p></div>`);
      continue;
    }
    const head = week.days.map((d) => `<th>${esc(d.weekday)} ${esc(d.date.slice(5))}</th>`).join('');
    const cells = week.days
      .map((d) => {
        const open = d.open.length ? esc(d.open.join(', ')) : '<span class="closed">closed</span>';
        const note = d.note ? `<span class="note">${esc(d.note)}</span>` : '';
        const clocks = d.clocks ? `<span class="clocks">${esc(d.clocks)}</span>` : '';
        return `<td>${open}${note}${clocks}</td>`;
      })
      .join('');
    const what = inbox.hours ? 'hours' : 'deflection hours';
    weeks.push(
      `<div class="week" data-inbox="${esc(inbox.name)}"><h3>${esc(inbox.name)} <small>${what} ${esc(week.hours)}, ${esc(week.zone)}${week.always ? ', always open' : ''}</small></h3>` +
        `<table><tr>${head}</tr><tr>${cells}</tr></table></div>`,
    );
  }
  $('hours-list').innerHTML = weeks.join('');
}

// ------------------------------------------------------------ live: stream

let refreshing = null;

async function drawConversations() {
  const { conversations } = await api('/conversations?limit=500');
  const byInbox = new Map();
  for (const c of conversations) {
    if (!byInbox.has(c.inbox)) byInbox.set(c.inbox, []);
    byInbox.get(c.inbox).push(c);
  }
  const parts = [];
  for (const [inbox, list] of byInbox) {
    parts.push(`<h3>${esc(inbox)}</h3><table data-inbox="${esc(inbox)}"><tr><th>conversation</th><th>customer</th><th>owner</th><th>lock</th><th>alerts</th></tr>`);
    for (const c of list) {
      const lock = c.lock ? `${esc(c.lock.holder)} until ${esc(c.lock.until)}` : '';
      const alerted = c.alerts && Array.isArray(c.alerts.agents) ? c.alerts.agents : [];
      const alerts = alerted.length ? `${esc(alerted.join(', '))} until ${esc(c.alerts.until)}` : '';
      parts.push(`<tr data-conversation="${esc(c.id)}"><td>${esc(c.id)}</td><td>${esc(c.customer)}</td><td>${esc(c.owner)}</td><td>${lock}</td><td>${alerts}</td></tr>`);
    }
    parts.push('</table>');
  }
  $('conversations').innerHTML = parts.join('') || '<p class="hint">No open conversations.</p>';
}

function refreshSoon() {
  if (refreshing) return;
  refreshing = setTimeout(() => {
    refreshing = null;
    drawConversations().catch((e) => status(e.message, true));
  }, 150);
}

/** Reads the tenant's server-sent events with the token (EventSource
 * cannot send one), reconnecting with Last-Event-ID. */
async function listen() {
  const controller = new AbortController();
  session.stream = controller;
  let last = null;
  for (;;) {
    try {
      const headers = { Authorization: `Bearer ${session.token}` };
      if (last !== null) headers['Last-Event-ID'] = String(last);
      const response = await fetch(`/v1/tenants/${encodeURIComponent(session.tenant)}/stream`, { headers, signal: controller.signal });
      if (!response.ok) throw new Error(`stream: ${response.status}`);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = { event: 'message', data: '', id: null };
          for (const line of block.split('\n')) {
            const colon = line.indexOf(':');
            if (colon <= 0) continue;
            const field = line.slice(0, colon);
            const text = line.slice(colon + 1).replace(/^ /, '');
            if (field === 'data') event.data += text;
            else if (field === 'event') event.event = text;
            else if (field === 'id') event.id = text;
          }
          if (event.id !== null) last = Number(event.id);
          heard(event);
        }
      }
    } catch (e) {
      if (controller.signal.aborted) return;
      status(`stream: ${e.message}; reconnecting`, true);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function heard(event) {
  if (event.event === 'decision') {
    const { seq, event: input, decision } = JSON.parse(event.data);
    const li = document.createElement('li');
    li.value = seq;
    li.dataset.seq = seq;
    li.textContent = `#${seq} ${input.type}${decision.inbox ? ` · ${decision.inbox}` : ''}${decision.conversation ? ` · ${decision.conversation}` : ''} → ${decision.outcome}${decision.denial ? ` (${decision.denial.code})` : ''}`;
    $('decisions').prepend(li);
    while ($('decisions').children.length > 200) $('decisions').lastChild.remove();
    refreshSoon();
  } else if (event.event === 'serving' || event.event === 'refused') {
    drawPolicy().catch((e) => status(e.message, true));
    if (event.event === 'serving') load().catch((e) => status(e.message, true));
  } else if (event.event === 'lagged') {
    status('the stream fell behind; catching up from the store');
  }
}

// -------------------------------------------------------------- playground

function describe(decision) {
  const steps = (decision.explanation && decision.explanation.steps) || [];
  const facts = decision.denial ? Object.entries(decision.denial).filter(([k]) => k !== 'code').map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') : '';
  const reason = decision.denial ? `<div class="denial">denied: <b>${esc(decision.denial.code)}</b>${facts ? ` (${esc(facts)})` : ''}</div>` : '';
  const messages = (decision.messages || []).map((m) => `<li>to ${esc(m.to)}: “${esc(m.text)}” <small>(${esc(m.why)})</small></li>`).join('');
  const why = steps.map((s) => `<li>${esc(Object.entries(s).map(([k, v]) => (k === 'rule' ? v : `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`)).join(' · '))}</li>`).join('');
  return (
    `<div class="decision" data-outcome="${esc(decision.outcome)}"><span class="outcome ${esc(decision.outcome)}">${esc(decision.event)} → ${esc(decision.outcome)}</span>` +
    `${decision.inbox ? ` · ${esc(decision.inbox)}` : ''}${decision.conversation ? ` · ${esc(decision.conversation)}` : ''}` +
    reason +
    (decision.visible_to ? `<div>visible to ${esc(decision.visible_to.join(', '))}</div>` : '') +
    (messages ? `<ul>${messages}</ul>` : '') +
    (why ? `<details open><summary>why</summary><ol>${why}</ol></details>` : '') +
    `<small>revision ${esc((decision.revision || '').slice(0, 12))}</small></div>`
  );
}

async function decide() {
  const lines = $('events').value.split('\n').map((l) => l.trim()).filter(Boolean);
  const candidate = document.querySelector('input[name=against]:checked').value === 'candidate';
  const out = [];
  if ($('in-order').checked) {
    try {
      const events = lines.map((line, i) => {
        try {
          return JSON.parse(line);
        } catch (e) {
          throw new Error(`line ${i + 1}: not JSON: ${e.message}`);
        }
      });
      const body = candidate ? { policy: $('candidate').value, events } : { events };
      const { decisions } = await api('/policy/simulate', { method: 'POST', body: JSON.stringify(body) });
      $('results').innerHTML = decisions.map(describe).join('');
    } catch (e) {
      $('results').innerHTML = `<div class="decision error"><pre>${esc(e.message)}</pre></div>`;
    }
    return;
  }
  for (const [i, line] of lines.entries()) {
    let event;
    try {
      event = JSON.parse(line);
    } catch (e) {
      out.push(`<div class="decision error">line ${i + 1}: not JSON: ${esc(e.message)}</div>`);
      continue;
    }
    try {
      const decision = candidate
        ? await api('/policy/dry-run', { method: 'POST', body: JSON.stringify({ policy: $('candidate').value, event }) })
        : await api('/events/dry-run', { method: 'POST', body: JSON.stringify(event) });
      out.push(describe(decision));
    } catch (e) {
      out.push(`<div class="decision error">line ${i + 1}: <pre>${esc(e.message)}</pre></div>`);
    }
  }
  $('results').innerHTML = out.join('');
}

// ------------------------------------------------------------------ policy

async function loadScenarios() {
  const { scenarios } = await api('/scenarios');
  session.scenarios = scenarios;
  $('scenario').innerHTML =
    '<option value="">(type events below)</option>' +
    scenarios.map((s, i) => `<option value="${i}"${s.error ? ' disabled' : ''}>${esc(s.file)}${s.error ? ' (does not read)' : ''}</option>`).join('');
}

$('scenario').addEventListener('change', () => {
  const picked = session.scenarios && session.scenarios[$('scenario').value];
  if (!picked || picked.error) return;
  $('events').value = picked.events.map((e) => JSON.stringify(e)).join('\n');
  $('in-order').checked = true;
});

async function drawPolicy() {
  const p = await api('/policy');
  const warnings = p.warnings.map((w) => `<li>${esc(w.code)}: ${esc(w.message)}</li>`).join('');
  const refused = p.refused
    ? `<h3 class="error">Refused: revision ${esc(p.refused.revision.slice(0, 12))} at ${esc(p.refused.at)}</h3><pre id="refused">${esc(p.refused.diagnostics)}</pre>`
    : '<p>No revision has been refused since this one loaded.</p>';
  $('revision').innerHTML =
    `<h2>Serving revision <code id="serving">${esc(p.revision.slice(0, 12))}</code></h2>` +
    `<p>tenant ${esc(p.tenant)} · loaded ${esc(p.loaded_at)} · status ${esc(typeof p.status === 'string' ? p.status : `${p.status.status}${p.status.reason ? `: ${p.status.reason}` : ''}`)} · ${p.inboxes.length} inboxes</p>` +
    (warnings ? `<h3>Warnings</h3><ul>${warnings}</ul>` : '') +
    refused;
}

// ------------------------------------------------------------------ wiring

async function load() {
  const started = performance.now();
  const week = $('week').value;
  session.overview = await api(`/policy/overview${week ? `?week=${week}` : ''}`);
  drawMap(session.overview);
  drawHours(session.overview);
  if (!$('week').value) $('week').value = session.overview.week[0];
  document.body.dataset.rendered = String(Math.round(performance.now() - started));
}

async function open(tenant, token) {
  Object.assign(session, { tenant, token });
  if (session.stream) session.stream.abort();
  status('loading…');
  try {
    await Promise.all([load(), drawPolicy(), drawConversations(), loadScenarios()]);
    sessionStorage.setItem('switchboard', JSON.stringify({ tenant, token }));
    $('tabs').hidden = false;
    status(`${session.overview.tenant.display_name || tenant}: ${session.overview.inboxes.length} inboxes`);
    document.body.dataset.ready = 'true';
    listen();
  } catch (e) {
    status(e.status === 401 || e.status === 404 ? 'that tenant and token do not open anything' : e.message, true);
  }
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  open($('tenant').value.trim(), $('token').value.trim());
});
for (const button of document.querySelectorAll('#tabs button')) {
  button.addEventListener('click', () => {
    for (const b of document.querySelectorAll('#tabs button')) b.classList.toggle('on', b === button);
    for (const s of document.querySelectorAll('.tab')) s.hidden = s.id !== button.dataset.tab;
  });
}
for (const radio of document.querySelectorAll('input[name=against]')) {
  radio.addEventListener('change', () => {
    $('candidate').hidden = radio.value !== 'candidate' || !radio.checked;
  });
}
$('week').addEventListener('change', () => {
  load().catch((e) => status(e.message, true));
});
$('decide').addEventListener('click', () => decide().catch((e) => status(e.message, true)));

const saved = JSON.parse(sessionStorage.getItem('switchboard') || 'null');
const fromHash = new URLSearchParams(location.hash.slice(1)).get('tenant');
if (fromHash) $('tenant').value = fromHash;
if (saved && (!fromHash || saved.tenant === fromHash)) {
  $('tenant').value = saved.tenant;
  $('token').value = saved.token;
  open(saved.tenant, saved.token);
}
