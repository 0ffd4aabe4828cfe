// Drives the gateway's web page in Debian's chromium: node page.test.mjs <baseUrl> <photo.jpg> <screenshotDir>
// Exit code 0 when every check passed; any console error on the page fails the run.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const [base, photo, shots] = process.argv.slice(2);
if (!base || !photo || !shots) {
  console.error('usage: node page.test.mjs <baseUrl> <photo.jpg> <screenshotDir>');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const problems = [];
const check = (ok, what) => { if (!ok) problems.push(what); console.log((ok ? 'ok   ' : 'FAIL ') + what); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function open(viewport, isMobile) {
  const context = await browser.newContext({ viewport, isMobile, hasTouch: isMobile });
  const page = await context.newPage();
  page.on('console', m => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
  page.on('pageerror', e => problems.push('page error: ' + e.message));
  page.on('response', r => { if (r.status() >= 400) problems.push('HTTP ' + r.status() + ' ' + r.url()); });
  return page;
}

async function results(page) {
  await page.waitForFunction(() => !document.getElementById('results').hasAttribute('aria-busy')
    && document.querySelectorAll('#results li').length > 0, null, { timeout: 60000 });
  // Every thumbnail has loaded and decoded.
  await page.waitForFunction(() => [...document.querySelectorAll('#results img')].every(i => i.complete), null, { timeout: 30000 });
  return page.evaluate(() => ({
    count: document.querySelectorAll('#results li').length,
    images: [...document.querySelectorAll('#results img')].map(i => i.naturalWidth),
    broken: document.querySelectorAll('#results .noimg').length,
    availability: [...document.querySelectorAll('#results li')].map(li => li.querySelector('.text span:last-child').textContent),
    status: document.getElementById('statusText').textContent,
  }));
}

try {
  // Desktop: upload, results with loaded thumbnails, filters, more like this, Back, wrong file type.
  const page = await open({ width: 1366, height: 900 }, false);
  await page.goto(base + '/');
  check(await page.getAttribute('#status', 'aria-live') === 'polite', 'status is announced (aria-live)');
  check(await page.getAttribute('#camera', 'capture') === 'environment', 'camera capture offered');
  await page.setInputFiles('#file', photo);
  let r = await results(page);
  check(r.count > 0, 'upload gives results (' + r.count + ')');
  check(r.images.length === r.count && r.images.every(w => w > 0), 'every thumbnail loaded (naturalWidth > 0)');
  check(r.broken === 0, 'no missing images');
  check(/products like this photo/.test(r.status), 'status says what was found: ' + r.status);
  check(!(await page.textContent('#results')).includes('_STOCK'), 'availability in words, not codes');
  check(/€|EUR/.test(await page.textContent('#results')), 'prices formatted with their currency');

  await page.selectOption('select[name=availability]', 'IN_STOCK');
  await page.click('button[type=submit]');
  await page.waitForURL(/availability=IN_STOCK/);
  r = await results(page);
  check(r.availability.every(a => a === 'In stock'), 'availability filter applied to every card');
  check(new URL(page.url()).searchParams.get('availability') === 'IN_STOCK', 'URL follows the filter');
  await page.screenshot({ path: shots + '/desktop.png', fullPage: true });

  const before = page.url();
  await page.click('#results li:first-child button');
  await page.waitForURL(/similar=/);
  r = await results(page);
  check(r.count > 0 && /products like /.test(r.status), 'more like this gives results');
  await page.goBack();
  await page.waitForURL(u => u.toString() === before);
  check(page.url() === before, 'Back returns to the previous search');

  await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a photo') });
  const status = await page.textContent('#statusText');
  check(/not a JPEG, PNG or WebP/.test(status), 'wrong file type explained: ' + status);
  check(await page.evaluate(() => [...document.images].every(i => !i.src || (i.complete && i.naturalWidth > 0))),
    'no broken image after a wrong file type');

  // Phone: 390 px wide, two cards a row, nothing wider than the screen.
  const phone = await open({ width: 390, height: 844 }, true);
  await phone.goto(base + '/');
  await phone.setInputFiles('#file', photo);
  r = await results(phone);
  const layout = await phone.evaluate(() => {
    const cards = [...document.querySelectorAll('#results li')];
    return { scroll: document.documentElement.scrollWidth, sameRow: cards.length > 1 && cards[0].offsetTop === cards[1].offsetTop };
  });
  check(layout.scroll <= 390, 'no horizontal overflow at 390 px (scrollWidth ' + layout.scroll + ')');
  check(layout.sameRow, 'two cards a row on a phone');
  await phone.screenshot({ path: shots + '/phone.png', fullPage: true });

  // Keyboard only: Tab to the photo control, choose a photo, crop it, Tab to "More like this", Enter.
  const keys = await open({ width: 1366, height: 900 }, false);
  // Listening before the page loads turns on file chooser interception in time for the key press.
  const chosen = new Promise(resolve => keys.once('filechooser', resolve));
  // Records the size of each photo the page uploads (CDP does not hand a test multipart blobs).
  await keys.addInitScript(() => {
    const fetch = window.fetch;
    window.uploads = [];
    window.fetch = async (url, init) => {
      const image = init && init.body instanceof FormData ? init.body.get('image') : null;
      if (image) {
        const bitmap = await createImageBitmap(image);
        window.uploads.push({ w: bitmap.width, h: bitmap.height });
      }
      return fetch(url, init);
    };
  });
  await keys.goto(base + '/');
  let focused = '';
  for (let i = 0; i < 10 && focused !== 'file'; i++) {
    await keys.keyboard.press('Tab');
    focused = await keys.evaluate(() => document.activeElement.id);
  }
  check(focused === 'file', 'the photo control is reachable with Tab');
  await keys.keyboard.press('Space');
  const chooser = await Promise.race([chosen, new Promise(r => setTimeout(r, 30000))]);
  check(!!chooser, 'keyboard: Space on the photo control opens the file chooser');
  await chooser.setFiles(photo);
  r = await results(keys);
  check(r.count > 0, 'keyboard: photo chosen and searched');

  // Keyboard crop: Tab to the crop box, arrows move it, Shift+arrows resize it, Enter searches the region.
  focused = '';
  for (let i = 0; i < 10 && focused !== 'cropper'; i++) {
    await keys.keyboard.press('Tab');
    focused = await keys.evaluate(() => document.activeElement.id);
  }
  check(focused === 'cropper', 'keyboard: the crop box is reachable with Tab');
  check(!!(await keys.getAttribute('#cropper', 'aria-label')) && !!(await keys.getAttribute('#cropper', 'aria-describedby')),
    'keyboard: the crop box is labelled and described');
  await keys.keyboard.press('ArrowRight');
  await keys.keyboard.press('ArrowRight');
  await keys.keyboard.press('ArrowDown');
  for (let i = 0; i < 3; i++) await keys.keyboard.press('Shift+ArrowLeft');
  const drawn = await keys.evaluate(() => {
    const b = document.getElementById('box'), p = document.getElementById('preview');
    return { shown: b.style.display === 'block', x: b.offsetLeft, y: b.offsetTop, w: b.offsetWidth, h: b.offsetHeight,
      pw: p.getBoundingClientRect().width, ph: p.getBoundingClientRect().height,
      said: document.getElementById('cropstate').textContent };
  });
  check(drawn.shown && drawn.w < drawn.pw && drawn.h < drawn.ph, 'keyboard: arrows draw a box inside the photo '
    + JSON.stringify(drawn));
  check(Math.abs(drawn.x - (drawn.pw / 4 + 20)) <= 1 && Math.abs(drawn.y - (drawn.ph / 4 + 10)) <= 1,
    'keyboard: arrows move the box');
  check(Math.abs(drawn.w - (drawn.pw / 2 - 30)) <= 1, 'keyboard: Shift+arrows resize the box');
  check(/Crop box .*Enter searches/.test(drawn.said), 'keyboard: the box is announced: ' + drawn.said);
  await keys.keyboard.press('Enter');
  // The previous search's cards stay on screen until the region's answer replaces them: wait for
  // the status of this search (the crop is made asynchronously before the request starts)
  await keys.waitForFunction(() => /this region/.test(document.getElementById('statusText').textContent),
    null, { timeout: 60000 }).catch(() => {});
  r = await results(keys);
  const sent = await keys.evaluate(() => window.uploads.at(-1));
  const crop = await keys.evaluate(() => crop);
  check(/this region \(\d+×\d+ px\)/.test(r.status), 'keyboard: Enter searched the region: ' + r.status);
  check(!!crop && sent && sent.w === crop.w && sent.h === crop.h,
    'keyboard: the uploaded photo is the crop (' + JSON.stringify(sent) + ' vs ' + JSON.stringify(crop) + ')');
  check(r.count > 0, 'keyboard: the region search gives results');
  let label = '';
  for (let i = 0; i < 40 && label !== 'More like this'; i++) {
    await keys.keyboard.press('Tab');
    label = await keys.evaluate(() => document.activeElement.textContent);
  }
  check(label === 'More like this', 'keyboard: "More like this" reachable with Tab');
  await keys.keyboard.press('Enter');
  await keys.waitForURL(/similar=/);
  r = await results(keys);
  check(r.count > 0, 'keyboard: more like this opened');
} catch (e) {
  problems.push('exception: ' + (e.stack || e));
} finally {
  await browser.close();
}
if (problems.length) {
  console.error('Page test failed:\n  ' + [...new Set(problems)].join('\n  '));
  process.exit(1);
}
console.log('Page test passed');
