// The console in headless Chromium, against a running `switchboard serve`
// (started by tests/console.rs, which passes what to check as JSON):
// the page loads, the map shows every inbox, the hours mark holidays and
// clock changes, a decision posted through the API appears live, the
// playground shows a denial with its reason (and the candidate policy's
// different answer), the policy page shows the serving revision; then the
// large tenant's first render is timed. Prints one JSON line of results.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';

const plan = JSON.parse(process.argv[2]);
const { base, shots } = plan;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const results = {};
const shot = async (page, name) => {
  if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: false });
};

async function login(page, tenant, token) {
  await page.goto(`${base}/console`);
  await page.fill('#tenant', tenant);
  await page.fill('#token', token);
  const started = Date.now();
  await page.click('#login button');
  await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
  return Date.now() - started;
}

async function api(path, token, body) {
  const response = await fetch(`${base}/v1/tenants/${plan.tenant}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  // A wrong token opens nothing, and says so.
  await page.goto(`${base}/console`);
  await page.fill('#tenant', plan.tenant);
  await page.fill('#token', 'wrong');
  await page.click('#login button');
  await page.waitForSelector('#status.bad');

  // The routing map: every inbox of the tenant, drawn.
  await login(page, plan.tenant, plan.token);
  for (const inbox of plan.inboxes) {
    assert.equal(await page.locator(`g.node.inbox[data-name="${inbox}"]`).count(), 1, `inbox ${inbox} on the map`);
  }
  assert.ok((await page.locator('g.node.agent').count()) >= plan.agents, 'every agent on the map');
  const direct = await page.locator(`g.node.inbox[data-name="${plan.direct}"] text.deflection`).textContent();
  assert.match(direct, /deflection (on|off) \((agent|team|global)/, direct);
  await shot(page, 'console-map');

  // Hours: a week with a holiday, and one with the clocks changing.
  await page.click('#tabs button[data-tab=hours]');
  await page.fill('#week', plan.holiday_week);
  await page.dispatchEvent('#week', 'change');
  await page.waitForSelector('.week .note');
  assert.match(await page.locator('.week .note').first().textContent(), new RegExp(plan.holiday));
  await shot(page, 'console-hours');
  await page.fill('#week', plan.clocks_week);
  await page.dispatchEvent('#week', 'change');
  await page.waitForSelector('.week .clocks');
  assert.match(await page.locator('.week .clocks').first().textContent(), /clocks go/);
  assert.equal(await page.locator('.week').count(), plan.inboxes.length);

  // Live: a decision posted through the API appears, and its conversation.
  await page.click('#tabs button[data-tab=live]');
  const decided = await api('/events', plan.token, plan.inbound);
  await page.waitForSelector(`#decisions li:has-text("${decided.conversation}")`, { timeout: 20_000 });
  await page.waitForSelector(`#conversations tr[data-conversation="${decided.conversation}"]`, { timeout: 20_000 });
  await shot(page, 'console-live');

  // Playground: a reply the inbox's claim rule denies, with its reason,
  // against the serving revision; the candidate policy allows it.
  await page.click('#tabs button[data-tab=playground]');
  const reply = { ...plan.reply, conversation: decided.conversation };
  await page.fill('#events', JSON.stringify(reply));
  await page.click('#decide');
  const denied = page.locator('#results .decision[data-outcome=denied]');
  await denied.waitFor();
  const text = await denied.textContent();
  assert.match(text, new RegExp(plan.denial), text);
  assert.match(text, /why/, 'the explanation is shown');
  await shot(page, 'console-playground');
  // The same playground against a candidate policy pasted beside it: a
  // new customer's text gets the candidate's autoresponder.
  await page.check('input[name=against][value=candidate]');
  await page.fill('#candidate', plan.candidate);
  await page.fill('#events', JSON.stringify(plan.new_customer));
  await page.evaluate(() => { document.getElementById('results').innerHTML = ''; });
  await page.click('#decide');
  await page.locator('#results .decision').waitFor();
  const answered = await page.locator('#results').innerHTML();
  assert.match(answered, /data-outcome="routed"/, answered);
  assert.ok(answered.includes(plan.candidate_says), answered);
  // A scenario file beside the policy, played in order from an empty
  // tenant: as many decisions as it has events.
  await page.check('input[name=against][value=serving]');
  const option = page.locator(`#scenario option:has-text("${plan.scenario}")`);
  await page.selectOption('#scenario', await option.getAttribute('value'));
  assert.ok(await page.isChecked('#in-order'));
  const lines = (await page.inputValue('#events')).split('\n').length;
  await page.evaluate(() => { document.getElementById('results').innerHTML = ''; });
  await page.click('#decide');
  await page.locator('#results .decision').first().waitFor();
  assert.equal(await page.locator('#results .decision').count(), lines);
  assert.equal(await page.locator('#results .decision.error').count(), 0);

  // Nothing was stored: the tenant's state still has no reply.
  const conversation = await api(`/conversations/${decided.conversation}`, plan.token);
  assert.equal(conversation.outbound, 0, JSON.stringify(conversation));

  // The policy revision serving.
  await page.click('#tabs button[data-tab=policy]');
  const serving = (await api('/policy', plan.token)).revision;
  assert.equal(await page.locator('#serving').textContent(), serving.slice(0, 12));
  // A policy file saved with an error: the reload refuses it, the stream
  // says so and the page shows its diagnostics, the old revision serving.
  const saved = readFileSync(plan.policy_file, 'utf8');
  writeFileSync(plan.policy_file, `${saved}\ninbox broken shared {\n  numbers +1\n}\n`);
  await page.waitForSelector('#refused', { timeout: 20_000 });
  assert.match(await page.locator('#refused').textContent(), /error/);
  assert.equal(await page.locator('#serving').textContent(), serving.slice(0, 12));
  await shot(page, 'console-policy');
  writeFileSync(plan.policy_file, saved);
  assert.deepEqual(errors, []);

  // Every example tenant: its map holds each of its inboxes.
  results.examples = 0;
  for (const example of plan.examples) {
    const other = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await other.evaluate(() => sessionStorage.clear()).catch(() => {});
    await login(other, example.tenant, example.token);
    for (const inbox of example.inboxes) {
      assert.equal(await other.locator(`g.node.inbox[data-name="${inbox}"]`).count(), 1, `${example.tenant}: inbox ${inbox}`);
    }
    await other.close();
    results.examples += 1;
  }

  // The large tenant: from pressing Open to the map and hours drawn.
  if (plan.large) {
    const big = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    results.large_first_render_ms = await login(big, plan.large.tenant, plan.large.token);
    results.large_draw_ms = Number(await big.evaluate(() => document.body.dataset.rendered));
    results.large_inboxes = await big.locator('g.node.inbox').count();
    results.large_agents = await big.locator('g.node.agent').count();
    assert.equal(results.large_inboxes, plan.large.inboxes);
  }
  results.ok = true;
} finally {
  await browser.close();
}
console.log(JSON.stringify(results));
