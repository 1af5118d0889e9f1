'use strict';
// Every relative link in the repository's Markdown files points at a file
// that exists, and a `#anchor` at a heading of that file.
const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
// Build output, installed packages and caches hold other projects' Markdown.
const SKIP_DIRS = new Set(['node_modules', 'target', '.git', '.cache']);

function markdownFiles(dir, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) markdownFiles(path.join(dir, entry.name), out);
    } else if (entry.isFile() && entry.name.endsWith('.md')) {
      out.push(path.join(dir, entry.name));
    }
  }
  return out;
}

// Text outside fenced code blocks and inline code spans: a link written as
// an example inside code is not a link.
function prose(text) {
  const lines = [];
  let fence = null;
  for (const line of text.split('\n')) {
    const m = /^\s*(```+|~~~+)/.exec(line);
    if (fence) {
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length) fence = null;
      lines.push('');
    } else if (m) {
      fence = m[1];
      lines.push('');
    } else {
      lines.push(line.replace(/(`+)[^`]*?\1/g, ''));
    }
  }
  return lines;
}

// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as
// hyphens; a repeated heading gets -1, -2, ….
function anchors(text) {
  const seen = new Map();
  const out = new Set();
  let fence = null;
  for (const line of text.split('\n')) {
    const f = /^\s*(```+|~~~+)/.exec(line);
    if (f) {
      if (!fence) fence = f[1];
      else if (f[1][0] === fence[0] && f[1].length >= fence.length) fence = null;
      continue;
    }
    if (fence) continue;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const slug = h[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) || 0;
    seen.set(slug, n + 1);
    out.add(n ? `${slug}-${n}` : slug);
  }
  return out;
}

// The relative links of one file: `[text](target)` and `[label]: target`.
function links(text) {
  const out = [];
  prose(text).forEach((line, i) => {
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ target: m[1], line: i + 1 });
    const ref = /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(line);
    if (ref) out.push({ target: ref[1], line: i + 1 });
  });
  return out.filter(l => !/^[a-z][a-z0-9+.-]*:/i.test(l.target));
}

// Every broken relative link under `root`, as "file:line: target (why)".
function brokenLinks(root) {
  const problems = [];
  const anchorCache = new Map();
  const anchorsOf = file => {
    if (!anchorCache.has(file)) anchorCache.set(file, anchors(fs.readFileSync(file, 'utf8')));
    return anchorCache.get(file);
  };
  for (const file of markdownFiles(root)) {
    const rel = path.relative(root, file);
    for (const { target, line } of links(fs.readFileSync(file, 'utf8'))) {
      const [rawPath, anchor] = target.split('#', 2);
      const linkPath = decodeURIComponent(rawPath);
      const dest = linkPath ? path.resolve(path.dirname(file), linkPath) : file;
      const where = `${rel}:${line}: ${target}`;
      if (!dest.startsWith(root + path.sep) && dest !== root) {
        problems.push(`${where} (outside the repository)`);
      } else if (!fs.existsSync(dest)) {
        problems.push(`${where} (no such file)`);
      } else if (anchor && dest.endsWith('.md') && !anchorsOf(dest).has(anchor.toLowerCase())) {
        problems.push(`${where} (no heading for #${anchor})`);
      }
    }
  }
  return problems;
}

test('every relative link in the Markdown files points at a file and heading that exist', () => {
  const files = markdownFiles(ROOT);
  assert.ok(files.some(f => path.relative(ROOT, f) === 'README.md'), 'README.md is scanned');
  const problems = brokenLinks(ROOT);
  assert.deepStrictEqual(problems, [], `broken links:\n${problems.join('\n')}`);
});

test('the link check reports a missing file, a missing heading and a link outside the repository', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'docs-links-'));
  try {
    fs.mkdirSync(path.join(root, 'docs'));
    fs.mkdirSync(path.join(root, 'node_modules'));
    fs.writeFileSync(path.join(root, 'docs', 'guide.md'), '# Guide\n\n## Start, stop & reload\n\nBack to [the top](../README.md#intro).\n');
    fs.writeFileSync(path.join(root, 'node_modules', 'x.md'), '[ignored](missing.md)\n');
    fs.writeFileSync(path.join(root, 'README.md'), [
      '# Intro',
      '[ok](docs/guide.md) [ok heading](docs/guide.md#start-stop--reload) [ok here](#intro)',
      '[gone](docs/missing.md) [bad heading](docs/guide.md#nothing) [away](../elsewhere.md)',
      '`[in code](not-checked.md)` [web](https://example.com/x.md)',
      '```',
      '[in a block](not-checked-either.md)',
      '```',
      '[ref]: docs/also-missing.md',
      '',
    ].join('\n'));
    assert.deepStrictEqual(brokenLinks(root), [
      'README.md:3: docs/missing.md (no such file)',
      'README.md:3: docs/guide.md#nothing (no heading for #nothing)',
      'README.md:3: ../elsewhere.md (outside the repository)',
      'README.md:8: docs/also-missing.md (no such file)',
    ]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
