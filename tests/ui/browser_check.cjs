// tests/ui/browser_check.cjs — drives the web view in Debian's chromium
// (headless, through puppeteer-core) as an auditor would, for
// ui_browser_test.cc, which starts the real server, makes the users, the
// canary secrets and the decrypt, and then checks this script's results.
//
//   node browser_check.cjs TOOLS_DIR CONFIG_JSON
//
// The browser trusts the test CA the way a person would make it trust one:
// the CA is imported into the NSS database of the browser's own HOME
// (certutil); no certificate error is ignored.
//
// What it checks (each failure is collected, all are written to
// config.results_path, and the exit status is 1 if there was any):
//   - a wrong password (401) and a Viewer (403) are refused with a message;
//   - the Auditor signs in, filters the trail to the decrypt's request,
//     opens the record, sees "verified" and the head that the page's own
//     GET /api/audit/verify answered, the hash recomputed in the page, and
//     the checkpoint that covers the record;
//   - Verification, Keys and Overview show their data;
//   - signing out ends the session (a read answers 401 afterwards);
//   - axe-core finds no serious or critical violation on any page;
//   - no Content-Security-Policy violation and no uncaught script error;
//   - no canary value or password in any response body the browser saw, any
//     page's text or markup, or the text of any screenshot's page.
// SECURITY: it never prints a password or a canary value; a failure names
// the canary by its index only.
'use strict';

const fs = require('fs');
const https = require('https');
const path = require('path');
const { execFileSync } = require('child_process');
const { createRequire } = require('module');

const [toolsDir, configPath] = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
const toolsRequire = createRequire(path.join(toolsDir, 'package.json'));
const puppeteer = toolsRequire('puppeteer-core');
const axeSource = fs.readFileSync(toolsRequire.resolve('axe-core/axe.min.js'), 'utf8');

const failures = [];
const results = { ok: false, failures, screenshots: [], axe: {}, pages: {} };
const fail = (what) => { failures.push(what); console.log(`FAIL: ${what}`); };
const check = (condition, what) => { if (!condition) fail(what); return condition; };

// What the browser saw, scanned for secrets at the end.
const seen = [];  // { where, text }
const pending = [];

function trustTestCa(home) {
  const db = path.join(home, '.pki', 'nssdb');
  fs.mkdirSync(db, { recursive: true });
  execFileSync('certutil', ['-N', '-d', `sql:${db}`, '--empty-password']);
  execFileSync('certutil', ['-A', '-d', `sql:${db}`, '-n', 'strongroom-test-ca', '-t', 'C,,', '-i', config.ca_path]);
}

async function main() {
  const home = path.join(config.work_dir, 'home');
  trustTestCa(home);
  fs.mkdirSync(config.screenshot_dir, { recursive: true });
  const browser = await puppeteer.launch({
    executablePath: config.chromium,
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
      '--no-first-run', '--no-default-browser-check', '--disable-extensions',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    userDataDir: path.join(config.work_dir, 'profile'),
    env: { ...process.env, HOME: home },
    defaultViewport: { width: 1280, height: 900 },
  });
  try {
    await run(browser);
  } finally {
    await browser.close();
  }
}

async function run(browser) {
  const page = await browser.newPage();
  const base = config.base_url;
  page.on('response', (response) => {
    if (!response.url().startsWith(base) || response.status() === 204) return;
    const where = `${response.request().method()} ${response.url().slice(base.length)} ${response.status()}`;
    // A body the browser has already dropped may never resolve: each read
    // is bounded, and one that fails or times out is a failure (the scan
    // below must see every body).
    const body = Promise.race([response.text(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), 10000))]);
    pending.push(body.then((text) => seen.push({ where, text }),
      (error) => { if (response.status() < 300 || response.status() >= 400) fail(`could not read the body of ${where}: ${error.message}`); }));
  });
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) fail(`CSP violation: ${message.text()}`);
  });
  page.on('pageerror', (error) => fail(`uncaught script error: ${error.message}`));

  const ready = (name) => page.waitForSelector(`#view[data-page="${name}"][data-state="ready"]`, { timeout: 20000 });
  const text = (selector) => page.$eval(selector, (node) => node.textContent.trim());
  const verifyAnswer = () => page.waitForResponse(
    (r) => r.url() === `${base}/api/audit/verify` && r.request().method() === 'GET', { timeout: 20000 })
    .then((r) => r.json());

  async function snapshot(name) {
    const file = path.join(config.screenshot_dir, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    results.screenshots.push(file);
    seen.push({ where: `text of screenshot ${name}`, text: await page.evaluate(() => document.body.innerText) });
    seen.push({ where: `markup of ${name}`, text: await page.content() });
  }

  async function axe(name) {
    await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const report = await window.axe.run(document, { resultTypes: ['violations'] });
      return report.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
      }));
    });
    results.axe[name] = violations;
    for (const v of violations) {
      if (v.impact === 'serious' || v.impact === 'critical') {
        fail(`axe on ${name}: ${v.impact} ${v.id} (${v.help}) at ${v.targets.join(', ')}`);
      }
    }
  }

  async function signIn(user, password) {
    await page.waitForSelector('#signin-form');
    await page.$eval('#signin-error', (node) => { node.textContent = ''; });
    await page.$eval('#signin-user', (node) => { node.value = ''; });
    await page.type('#signin-user', user);
    await page.type('#signin-password', password);
    await page.click('#signin-submit');
  }
  async function refusedWith(expected, what) {
    await page.waitForFunction(() => {
      const node = document.getElementById('signin-error');
      return node && node.textContent.trim().length > 0;
    }, { timeout: 20000 });
    const message = await text('#signin-error');
    check(message.includes(expected), `${what}: the form says "${message}", not "${expected}"`);
    check(await page.$eval('#signin-password', (node) => node.value === ''), `${what}: the password field was not emptied`);
  }

  // Sign-in: /ui redirects to /ui/, which shows the form.
  const landing = await page.goto(`${base}/ui`, { waitUntil: 'networkidle0' });
  check(landing.url() === `${base}/ui/`, `/ui led to ${landing.url()}`);
  check(landing.headers()['content-security-policy'] !== undefined, '/ui/ has no Content-Security-Policy');
  await ready('signin');
  await snapshot('signin');
  await axe('signin');

  await signIn(config.auditor.user, `${config.auditor.password}-wrong`);
  await refusedWith('Wrong user name or password', 'a wrong password');
  await signIn(config.viewer.user, config.viewer.password);
  await refusedWith('only Auditor and ServerAdmin', 'a Viewer');
  await snapshot('signin-refused');

  // The Auditor: the trail, filtered to the decrypt's request.
  await signIn(config.auditor.user, config.auditor.password);
  await ready('trail');
  check((await text('#account-name')).includes(config.auditor.user), 'the page does not name the signed-in user');
  await snapshot('trail');
  await axe('trail');

  const { request_id: requestId, action, actor, namespace } = config.decrypt;
  for (const [id, value] of [['#filter-action', action], ['#filter-actor', actor], ['#filter-namespace', namespace]]) {
    await page.$eval(id, (node) => { node.value = ''; });
    await page.type(id, value);
  }
  await page.select('#filter-outcome', 'allowed');
  await page.click('#filter-apply');
  // The new page's form carries the filters as attributes (the old one only
  // as typed values), so this waits for the filtered page, not the old one.
  await page.waitForSelector(`#view[data-page="trail"][data-state="ready"] #filter-action[value="${action}"]`, { timeout: 20000 });
  const rows = await page.$$eval('#trail-table tbody tr', (trs) => trs.map((tr) => ({
    requestId: tr.dataset.requestId, cells: Array.from(tr.cells, (td) => td.textContent.trim()),
  })));
  results.pages.filtered_rows = rows.length;
  check(rows.length >= 1, 'the filtered trail shows no record');
  for (const row of rows) {
    check(row.cells[3] === action && row.cells[2].split(' ')[0] === actor && row.cells[4].startsWith(namespace),
      `a filtered row does not match the filters: ${row.cells.join(' | ')}`);
  }
  const target = rows.find((row) => row.requestId === requestId);
  check(target !== undefined, `the decrypt's request ${requestId} is not in the filtered trail`);
  await snapshot('trail-filtered');

  // One record: verified, the same head as the page's /api/audit/verify.
  if (target) {
    const answered = verifyAnswer();
    await page.click(`#trail-table tr[data-request-id="${requestId}"] a.record-link`);
    const verify = await answered;
    await ready('record');
    results.pages.record_seq = Number(target.cells[0]);
    check(await text('#record-verify-status') === 'verified', 'the record page does not say "verified"');
    const head = await text('#record-verify-head');
    check(head === `${verify.head.seq}:${verify.head.hash}`, `the record page shows head ${head}, /api/audit/verify said ${verify.head.seq}:${verify.head.hash}`);
    results.record_head = head;
    check((await text('#record-hash-check')).includes('it matches'), 'the record\'s hash was not recomputed to a match');
    const checkpointSeq = await page.$eval('#record-checkpoint', (node) => node.dataset.seq || '');
    check(checkpointSeq !== '', 'no checkpoint is shown covering the record');
    results.pages.checkpoint_seq = Number(checkpointSeq);
    const body = await page.evaluate(() => document.body.innerText);
    check(body.includes(requestId), 'the record page does not show its request id');
    await snapshot('record');
    await axe('record');
  }

  // Verification.
  {
    const answered = verifyAnswer();
    await page.click('#nav a[href="#/verify"]');
    const verify = await answered;
    await ready('verify');
    check(await text('#verify-status') === 'verified', 'the verification page does not say "verified"');
    const head = await text('#verify-head');
    check(head === `${verify.head.seq}:${verify.head.hash}`, `the verification page shows head ${head}, /api/audit/verify said ${verify.head.seq}:${verify.head.hash}`);
    results.head = verify.head;
    const command = await text('#verify-command');
    check(command.startsWith('strongroom audit verify --log ') && command.includes('--public-key ') && command.endsWith(`--expect-head ${head}`),
      `the offline command reads "${command}"`);
    check(/^[0-9a-f]{64}$/.test(await text('#verify-key-sha256')), 'no key fingerprint is shown');
    check(await text('#verify-key-sha256') === verify.keySha256, 'the key fingerprint is not the verified key\'s');
    check((await page.$('#verify-last-checkpoint')) !== null, 'no last checkpoint is shown');
    await snapshot('verify');
    await axe('verify');
  }

  // Keys.
  await page.click('#nav a[href="#/keys"]');
  await ready('keys');
  results.pages.keks = await page.$$eval('#kek-table tbody tr', (trs) => trs.length).catch(() => 0);
  check(results.pages.keks >= 1, 'the Keys page lists no KEK');
  const dataKeys = await page.$$eval('#data-key-table tbody tr', (trs) => trs.map((tr) => tr.cells[0].textContent)).catch(() => []);
  check(dataKeys.includes(namespace), `the Keys page lists no data key of ${namespace}`);
  await snapshot('keys');
  await axe('keys');

  // Overview.
  await page.click('#nav a[href="#/overview"]');
  await ready('overview');
  const secureValues = await page.$eval(`#namespace-table tr[data-namespace="${namespace}"]`, (tr) => tr.cells[1].textContent).catch(() => '');
  check(secureValues === String(config.canaries.length), `the Overview counts "${secureValues}" secure values in ${namespace}`);
  check(await page.$$eval('#activity-chart svg rect', (rects) => rects.length) > 0, 'the Overview draws no chart');
  const activity = await text('#overview-activity');
  check(!/: 0 decrypts allowed/.test(activity), `the Overview counts no decrypt: ${activity}`);
  await snapshot('overview');
  await axe('overview');

  // Sign out: the session is revoked, not only its cookie dropped. (Asked
  // from here with the old cookie: a read without one gets a Basic
  // challenge, which would open the browser's password prompt.)
  const session = (await page.cookies()).find((c) => c.name === 'sr_session');
  check(session !== undefined && session.httpOnly && session.secure && session.sameSite === 'Strict',
    'the session cookie is missing or not HttpOnly, Secure and SameSite=Strict');
  await page.click('#sign-out');
  await ready('signin');
  check(!(await page.cookies()).some((c) => c.name === 'sr_session'), 'the session cookie is still set after signing out');
  if (session) {
    const after = await new Promise((resolve) => {
      const request = https.get(`${base}/api/audit/events`, { ca: fs.readFileSync(config.ca_path), headers: { Cookie: `sr_session=${session.value}` } },
        (response) => { response.resume(); resolve(response.statusCode); });
      request.on('error', (error) => resolve(`error ${error.message}`));
    });
    check(after === 401, `a read with the signed-out session's cookie answered ${after}`);
  }
  await snapshot('signed-out');

  await Promise.allSettled(pending);
  const secrets = [...config.canaries.map((c, i) => [c, `canary #${i + 1}`]),
    [config.auditor.password, 'the auditor\'s password'], [config.viewer.password, 'the viewer\'s password']];
  for (const { where, text: seenText } of seen) {
    for (const [secret, name] of secrets) {
      if (seenText.includes(secret)) fail(`${name} appears in ${where}`);
    }
  }
  results.responses_seen = seen.filter((s) => !s.where.startsWith('text of') && !s.where.startsWith('markup of')).length;
  fs.writeFileSync(config.seen_path, seen.map((s) => `== ${s.where}\n${s.text}\n`).join(''));
}

main()
  .catch((error) => fail(`the check stopped: ${error.message}`))
  .finally(() => {
    results.ok = failures.length === 0;
    fs.writeFileSync(config.results_path, JSON.stringify(results, null, 2));
    console.log(results.ok ? 'browser check passed' : `browser check failed: ${failures.length} problem(s)`);
    process.exitCode = results.ok ? 0 : 1;
  });
