// The build service's dashboard: tasks, the farm's nodes and slots, a timeline of package
// jobs per node and slot (icemon's Gantt view), and a task page with its first error on
// top and its log following live. Everything it shows is the API's (same origin, the
// token in an HttpOnly SameSite=Strict cookie); untrusted text only ever goes into
// textContent.

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props))
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  for (const kid of kids) e.append(kid);
  return e;
};
const pill = (state) => el('span', { class: `pill s-${String(state).replace(/\s+/g, '-')}`, text: state });
const seconds = (s) => (s === undefined ? '' : s < 90 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);
const bytes = (b) =>
  b === undefined
    ? ''
    : b >= 1 << 30
      ? `${(b / (1 << 30)).toFixed(1)} GiB`
      : b >= 1 << 20
        ? `${(b / (1 << 20)).toFixed(1)} MiB`
        : `${Math.round(b / 1024)} KiB`;
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

async function get(path) {
  const res = await fetch(path, { credentials: 'same-origin' });
  if (res.status === 401) throw Object.assign(new Error('log in'), { status: 401 });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

/** Greedy interval partitioning: each job the first slot of its node free at its start. */
export function lanesOf(jobs) {
  const lanes = new Map();
  for (const j of [...jobs].sort((a, b) => a.start - b.start)) {
    const slots = lanes.get(j.node) ?? [];
    let slot = slots.findIndex((end) => end <= j.start);
    if (slot < 0) slot = slots.push(0) - 1;
    slots[slot] = j.end;
    j.slot = slot;
    lanes.set(j.node, slots);
  }
  return lanes;
}

const firstSeen = new Map();
function timeline(tasks, builds) {
  const now = Date.now();
  const jobs = [];
  for (const t of tasks)
    for (const p of t.packages)
      if (p.node && p.startedAt && p.endedAt)
        jobs.push({
          node: p.node,
          name: p.name,
          state: p.state,
          start: Date.parse(p.startedAt),
          end: Math.max(Date.parse(p.endedAt), Date.parse(p.startedAt) + 1000),
        });
  for (const b of builds.filter((x) => x.node)) {
    const key = `${b.pkg}@${b.node}`;
    if (!firstSeen.has(key)) firstSeen.set(key, now);
    jobs.push({ node: b.node, name: b.pkg, state: 'building', start: firstSeen.get(key), end: now });
  }
  const from = Math.min(now - 10 * 60_000, ...jobs.map((j) => j.start));
  const span = now - from;
  $('span').textContent = `(last ${Math.round(span / 60_000)} min)`;
  const lanes = lanesOf(jobs);
  const box = $('lanes');
  box.replaceChildren();
  if (!jobs.length) box.append(el('p', { class: 'muted', text: 'no package jobs yet' }));
  for (const [node, slots] of [...lanes].sort()) {
    slots.forEach((_, slot) => {
      const track = el('div', { class: 'track' });
      for (const j of jobs.filter((x) => x.node === node && x.slot === slot)) {
        const bar = el('div', { class: `job s-${j.state.replace(/\s+/g, '-')}`, title: `${j.name} on ${node}: ${j.state}`, text: j.name });
        bar.style.left = `${((j.start - from) / span) * 100}%`;
        bar.style.width = `${((j.end - j.start) / span) * 100}%`;
        track.append(bar);
      }
      box.append(el('div', { class: 'lane' }, el('div', { class: 'name', text: `${node} · slot ${slot + 1}` }), track));
    });
  }
}

function nodes(farm) {
  const farmPill = $('farm');
  farmPill.textContent = `${farm.farm}: ${farm.up ? 'up' : 'down'}`;
  farmPill.className = `pill ${farm.up ? 's-ready' : 's-down'}`;
  farmPill.title = farm.problem ?? '';
  const box = $('nodes');
  box.replaceChildren();
  const busyOn = (h) => farm.builds.filter((b) => b.node === h).length;
  for (const n of farm.nodes) {
    const slots = Math.max(1, Math.floor((n.cpus ?? 1) / 1));
    const busy = busyOn(n.hostname);
    const bar = el('div', { class: 'bar' }, el('i'));
    bar.firstChild.style.width = `${Math.min(100, (busy / slots) * 100)}%`;
    box.append(
      el(
        'div',
        { class: 'node' },
        el('b', { text: n.hostname }),
        ' ',
        pill(n.state),
        el('div', { class: 'muted', text: `${n.cpus ?? '?'} CPUs · ${busy}/${slots} slots busy · ${n.availability}` }),
        bar,
      ),
    );
  }
  box.append(
    el('div', {
      class: 'node muted',
      text: `tasks: ${farm.tasks.building} building, ${farm.tasks.queued} queued, ${farm.tasks.blocked} blocked; jobs: ${farm.slots.busy}/${farm.slots.room} slots`,
    }),
  );
}

function tasksTable(tasks) {
  const body = $('tasks');
  body.replaceChildren();
  for (const t of tasks) {
    const pk = el('td', { class: 'pkgs' });
    for (const p of t.packages) pk.append(el('span', {}, el('i', { class: `dot s-${p.state.replace(/\s+/g, '-')}`, title: p.state }), p.name));
    const usage = t.packages.map((p) => p.usage).filter(Boolean);
    const end = t.endedAt ? Date.parse(t.endedAt) : Date.now();
    const row = el(
      'tr',
      { 'data-task': t.id },
      el('td', {}, el('a', { href: `#/task/${t.id}`, class: 'mono', text: t.id })),
      el('td', {}, pill(t.state)),
      el('td', { text: t.owner }),
      el('td', { text: t.branch }),
      pk,
      el('td', { text: [...new Set(t.packages.map((p) => p.node).filter(Boolean))].join(' ') }),
      el('td', { text: t.startedAt ? seconds((end - Date.parse(t.startedAt)) / 1000) : '' }),
      el('td', { text: usage.length ? seconds(sum(usage.map((u) => u.cpuSeconds))) : '' }),
      el('td', { text: usage.length ? bytes(Math.max(...usage.map((u) => u.peakMemoryBytes))) : '' }),
    );
    body.append(row);
  }
  if (!tasks.length)
    body.append(el('tr', {}, el('td', { colspan: '9', class: 'muted', text: 'no tasks yet: iglu submit DIR, or copy a bundle into the queue directory' })));
}

let following;
function taskPage(t) {
  $('t-id').textContent = t.id;
  $('t-state').replaceWith(Object.assign(pill(t.state), { id: 't-state' }));
  const failed = t.packages.find((p) => p.state === 'failed');
  // why the task stopped (a time limit, a cancel, the farm), then the first package that failed
  const first = [t.reason, failed && `${failed.name}: ${failed.error ?? 'failed'}`].filter(Boolean).join('\n') || undefined;
  $('t-error').hidden = !first;
  $('t-error').textContent = first ?? '';
  $('t-meta').textContent =
    `${t.owner} · branch ${t.branch} · created ${t.createdAt}${t.startedAt ? ` · started ${t.startedAt}` : ''}${t.endedAt ? ` · ended ${t.endedAt}` : ''}`;
  const body = $('t-packages');
  body.replaceChildren();
  for (const p of t.packages)
    body.append(
      el(
        'tr',
        {},
        el('td', { text: `${p.name} ${p.version ?? ''}` }),
        el('td', {}, pill(p.state)),
        el('td', { text: p.node ?? '' }),
        el('td', { text: seconds(p.usage?.wallSeconds ?? p.seconds) }),
        el('td', { text: seconds(p.usage?.cpuSeconds) }),
        el('td', { text: bytes(p.usage?.peakMemoryBytes) }),
        el('td', { text: bytes(p.usage?.diskBytes) }),
      ),
    );
  $('t-cancel').hidden = ['done', 'failed', 'cancelled'].includes(t.state);
  if (following?.id !== t.id) {
    following?.source.close();
    const log = $('t-log');
    log.textContent = '';
    // EventSource sends the cookie, reconnects by itself and resumes with Last-Event-ID
    const source = new EventSource(`/task/${t.id}/log`);
    source.onmessage = (e) => {
      const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.textContent += `${e.data}\n`;
      if (stick) log.scrollTop = log.scrollHeight;
    };
    source.addEventListener('end', () => source.close());
    following = { id: t.id, source };
  }
}

async function refresh() {
  const route = /^#\/task\/([0-9a-f]{12})$/.exec(location.hash);
  try {
    const me = await get('/me');
    $('who').textContent = `${me.name} (${me.scope})`;
    $('logout').hidden = false;
    $('login').hidden = true;
    $('home').hidden = Boolean(route);
    $('task').hidden = !route;
    const farm = await get('/builder/status');
    nodes(farm);
    if (route) return taskPage(await get(`/task/${route[1]}/status`));
    following?.source.close();
    following = undefined;
    const { tasks } = await get('/task');
    tasksTable(tasks);
    timeline(tasks, farm.builds);
  } catch (err) {
    if (err.status !== 401) throw err;
    $('login').hidden = false;
    $('home').hidden = true;
    $('task').hidden = true;
    $('logout').hidden = true;
  }
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const res = await fetch('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: $('token').value.trim() }),
  });
  $('login-error').textContent = res.ok ? '' : (await res.json()).error;
  if (res.ok) refresh();
});
$('logout').addEventListener('click', async () => {
  await fetch('/logout', { method: 'POST' });
  refresh();
});
$('t-cancel').addEventListener('click', async () => {
  await fetch(`/task/${following.id}`, { method: 'DELETE' });
  refresh();
});
window.addEventListener('hashchange', refresh);
refresh();
setInterval(() => refresh().catch(() => undefined), 2000);
