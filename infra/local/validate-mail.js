#!/usr/bin/env node
// validate-mail.js: read raw MIME messages with independent parsers (npm
// `mailparser` for the MIME, Mozilla's `ical.js` for every calendar in them) and
// print what they understood as JSON, so Go tests can compare it with what was meant.
//
// Usage:
//   node infra/local/validate-mail.js message.eml [more.eml ...]
//   echo '["<base64 of a raw message>", ...]' | node infra/local/validate-mail.js
//
// Output: a JSON array, one object per message, in input order. A message or a
// calendar that fails to parse gets an "error" field instead of failing the run;
// the exit status is non-zero only when the input itself cannot be read.
'use strict';

const fs = require('fs');
const path = require('path');

function requireLocal(name) {
  try {
    return require(name);
  } catch (err) {
    process.stderr.write(
      `validate-mail.js: cannot load npm package ${name} (${err.message}).\n` +
        `Install the pinned validators: make deps   (or: npm ci --prefix ${path.relative(process.cwd(), __dirname) || '.'})\n`
    );
    process.exit(2);
  }
}

const { simpleParser } = requireLocal('mailparser');
const ICAL = requireLocal('ical.js');

// Unfolded value of every raw header line named key (lower case).
function rawHeaders(headerLines, key) {
  return headerLines
    .filter((h) => h.key === key)
    .map((h) => h.line.replace(/\r?\n(?=[ \t])/g, '').replace(/^[^:]*:\s*/, '').trim());
}

function addresses(field) {
  if (!field) return [];
  return [].concat(field).flatMap((f) => f.value.map((a) => ({ name: a.name, address: a.address })));
}

function isoTime(value) {
  if (!value) return null;
  return value.toJSDate().toISOString();
}

function calAddress(prop) {
  if (!prop) return null;
  const params = {};
  for (const [k, v] of Object.entries(prop.toJSON()[1])) params[k.toUpperCase()] = String(v);
  return { value: prop.getFirstValue(), params };
}

function parseCalendar(text) {
  try {
    const vcal = new ICAL.Component(ICAL.parse(text));
    return {
      method: vcal.getFirstPropertyValue('method'),
      prodid: vcal.getFirstPropertyValue('prodid'),
      version: vcal.getFirstPropertyValue('version'),
      calscale: vcal.getFirstPropertyValue('calscale'),
      timezones: vcal.getAllSubcomponents('vtimezone').map((z) => z.getFirstPropertyValue('tzid')),
      // The kinds of each VTIMEZONE's observances, in order: standard / daylight.
      observances: Object.fromEntries(
        vcal.getAllSubcomponents('vtimezone').map((z) => [z.getFirstPropertyValue('tzid'), z.getAllSubcomponents().map((c) => c.name)])
      ),
      events: vcal.getAllSubcomponents('vevent').map((ev) => {
        const start = ev.getFirstPropertyValue('dtstart');
        const end = ev.getFirstPropertyValue('dtend');
        return {
          uid: ev.getFirstPropertyValue('uid'),
          sequence: ev.getFirstPropertyValue('sequence'),
          dtstamp: isoTime(ev.getFirstPropertyValue('dtstamp')),
          dtstart: isoTime(start),
          dtstartZone: start && start.zone ? start.zone.tzid : null,
          dtend: isoTime(end),
          dtendZone: end && end.zone ? end.zone.tzid : null,
          summary: ev.getFirstPropertyValue('summary'),
          location: ev.getFirstPropertyValue('location'),
          description: ev.getFirstPropertyValue('description'),
          url: ev.getFirstPropertyValue('url'),
          status: ev.getFirstPropertyValue('status'),
          organizer: calAddress(ev.getFirstProperty('organizer')),
          attendees: ev.getAllProperties('attendee').map(calAddress),
        };
      }),
    };
  } catch (err) {
    return { error: String(err && err.message ? err.message : err) };
  }
}

async function parseMessage(raw) {
  try {
    const m = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
    const lines = m.headerLines || [];
    return {
      subject: m.subject,
      from: addresses(m.from),
      to: addresses(m.to),
      replyTo: addresses(m.replyTo),
      date: m.date ? m.date.toISOString() : null,
      messageId: m.messageId,
      headers: {
        'mime-version': rawHeaders(lines, 'mime-version'),
        'list-unsubscribe': rawHeaders(lines, 'list-unsubscribe'),
        'list-unsubscribe-post': rawHeaders(lines, 'list-unsubscribe-post'),
        'content-type': rawHeaders(lines, 'content-type'),
      },
      list: m.headers.get('list') || null,
      text: m.text || null,
      html: m.html || null,
      attachments: (m.attachments || []).map((a) => {
        const ct = a.headers.get('content-type');
        const out = {
          filename: a.filename || null,
          contentType: a.contentType,
          contentTypeParams: (ct && ct.params) || {},
          contentDisposition: a.contentDisposition || null,
        };
        if (a.contentType === 'text/calendar' || a.contentType === 'application/ics' || /\.ics$/i.test(a.filename || '')) {
          out.calendar = parseCalendar(a.content.toString('utf8'));
        }
        return out;
      }),
    };
  } catch (err) {
    return { error: String(err && err.message ? err.message : err) };
  }
}

async function readInputs() {
  const args = process.argv.slice(2);
  if (args.length > 0) return args.map((f) => fs.readFileSync(f));
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const list = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (!Array.isArray(list)) throw new Error('stdin must be a JSON array of base64 strings');
  return list.map((b64) => Buffer.from(b64, 'base64'));
}

(async () => {
  let inputs;
  try {
    inputs = await readInputs();
  } catch (err) {
    process.stderr.write(`validate-mail.js: ${err.message}\n`);
    process.exit(1);
  }
  const results = [];
  for (const raw of inputs) results.push(await parseMessage(raw));
  process.stdout.write(JSON.stringify(results, null, 2) + '\n');
})();
