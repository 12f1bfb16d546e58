// Checks the grammar against the checker's own vocabulary (read from the Rust
// source, so a new setting or placeholder there fails here until the grammar
// knows it) and against the repository's example policies and valid fixtures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import oniguruma from 'vscode-oniguruma';
import { grammarJson, scopesOf, tokenize } from './tokenize.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const lower = join(root, 'src/syntax/lower');
const rust = (file) => readFileSync(join(root, file), 'utf8');
const S = '.switchboard-policy';

/** The strings of `const NAME: ... = &[ ... ];` (or `[...; N]`) in a Rust file. */
function rustList(file, name) {
  const m = rust(file).match(new RegExp(`const ${name}: [^=]+= &?\\[([^\\]]*)\\]`));
  assert.ok(m, `no const ${name} in ${file}`);
  const items = [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
  assert.ok(items.length > 0, `const ${name} in ${file} is empty`);
  return items;
}

/** The string patterns of match arms whose right side matches `rhs` in a Rust file. */
function rustArms(file, rhs) {
  const out = [];
  for (const line of rust(file).split('\n')) {
    const m = line.match(/^\s*((?:"[^"]+"\s*\|?\s*)+)=>(.*)$/);
    if (m && rhs.test(m[2])) out.push(...[...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]));
  }
  assert.ok(out.length > 0, `no match arms => ${rhs} in ${file}`);
  return out;
}

const DAYS = rustList('src/syntax/lower/hours.rs', 'DAYS');
const DAY_KEYS = new Set([...DAYS, 'daily', 'weekdays', 'weekends']);
const SETTINGS = new Set([
  ...['agent', 'compliance', 'deflection', 'number', 'team', 'tenant', 'hours'].flatMap((f) =>
    rustList(`src/syntax/lower/${f}.rs`, 'SETTINGS'),
  ),
  ...['COMMON', 'SHARED', 'QUEUE', 'DIRECT'].flatMap((c) => rustList('src/syntax/lower/inbox.rs', c)),
  ...rustList('src/syntax/lower/hooks.rs', 'LIMITS'),
].filter((k) => !DAY_KEYS.has(k)));
const DECLARATIONS = rustList('src/syntax/lower/mod.rs', 'DECLARATIONS');
const PLACEHOLDERS = rustList('src/syntax/lower/values.rs', 'PLACEHOLDERS');
const MESSAGE_SETTINGS = readdirSync(lower).flatMap((f) =>
  /self\.message\(setting\)/.test(rust(`src/syntax/lower/${f}`))
    ? rustArms(`src/syntax/lower/${f}`, /self\.message\(setting\)/)
    : [],
);

const has = (scopes, scope) => scopes.includes(scope + S);

test('every declaration is a declaration keyword at the top level', () => {
  for (const kw of DECLARATIONS) {
    assert.ok(has(scopesOf(`${kw} x`, kw), `storage.type.${kw}`), kw);
  }
});

test('names declared by name get entity.name', () => {
  for (const kw of ['tenant', 'team', 'agent', 'inbox', 'hours', 'holidays', 'template', 'table']) {
    assert.ok(has(scopesOf(`${kw} declared_name {`, 'declared_name'), `entity.name.type.${kw}`), kw);
  }
});

test('every setting the checker knows is a setting inside a block', () => {
  assert.ok(SETTINGS.size > 40, `only ${SETTINGS.size} settings found in the Rust source`);
  for (const key of SETTINGS) {
    const scopes = scopesOf(`inbox x shared {\n  ${key} y\n}`, key, 1);
    assert.ok(has(scopes, 'keyword.other.setting'), `${key}: ${scopes.join(' ')}`);
  }
});

test('day keys in hours are days', () => {
  for (const key of [...DAY_KEYS, `${DAYS[0]}-${DAYS[4]}`, `${DAYS[4]}-${DAYS[0]}`]) {
    const scopes = scopesOf(`hours x {\n  ${key} 09:00-17:00\n}`, key.split('-')[0], 1);
    assert.ok(has(scopes, 'constant.language.day'), `${key}: ${scopes.join(' ')}`);
  }
});

test('every placeholder is read in templates and message settings, and only there', () => {
  assert.ok(MESSAGE_SETTINGS.length >= 8, `message settings: ${MESSAGE_SETTINGS}`);
  for (const p of PLACEHOLDERS) {
    assert.ok(has(scopesOf(`template t "a {${p}} b"`, p), 'variable.other.placeholder'), p);
    for (const key of MESSAGE_SETTINGS) {
      const scopes = scopesOf(`x {\n  ${key} "a {${p}|fallback} b"\n}`, p, 1);
      assert.ok(has(scopes, 'variable.other.placeholder'), `${key} "{${p}}"`);
    }
  }
  const label = scopesOf(`number +14155550100 {\n  label "a {inbox} b"\n}`, 'a {inbox} b', 1);
  assert.ok(!has(label, 'meta.placeholder'), 'a label is not a message');
  assert.ok(has(scopesOf('template t "{nope}"', 'nope'), 'invalid.illegal.unknown-placeholder'));
});

test('the checker\'s fixed words are constants', () => {
  const values = 'src/syntax/lower/values.rs';
  const cases = [
    ['boolean', rustArms(values, /^\s*(true|false)\b/)],
    ['channel', rustArms(values, /Channel::/)],
    ['claim-mode', rustArms('src/syntax/lower/inbox.rs', /ClaimMode::/)],
    ['status', rustList('src/syntax/ast.rs', 'BUILTIN_STATUSES')],
  ];
  for (const [kind, words] of cases) {
    for (const w of words) {
      assert.ok(has(scopesOf(`x {\n  y ${w}\n}`, w, 1), `constant.language.${kind}`), `${kind} ${w}`);
    }
  }
  for (const kind of rustArms('src/syntax/lower/inbox.rs', /InboxKind::/)) {
    assert.ok(has(scopesOf(`inbox x ${kind}`, kind), 'constant.language.inbox-kind'), kind);
  }
  const points = [...rust('src/vocab.rs').matchAll(/HookPoint::\w+ => "(\w+)"/g)].map((m) => m[1]);
  assert.ok(points.length >= 4, `hook points: ${points}`);
  for (const point of points) {
    assert.ok(has(scopesOf(`x {\n  hook ${point} f\n}`, point, 1), 'constant.language.hook-point'), point);
  }
  for (const action of rustArms('src/syntax/lower/compliance.rs', /RevocationAction::/)) {
    assert.ok(has(scopesOf(`x {\n  revocation ${action} "p"\n}`, action, 1), 'constant.language.revocation-action'), action);
  }
  for (const clock of rustArms(values, /Clock::/)) {
    assert.ok(has(scopesOf(`x {\n  clock ${clock}\n}`, clock, 1), 'constant.language.clock'), clock);
  }
});

test('the grammar is well formed', () => {
  assert.equal(grammarJson.scopeName, 'source.switchboard-policy');
  const names = [];
  const regexes = [];
  const includes = [];
  (function walk(node) {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'name' && typeof v === 'string' && node !== grammarJson) names.push(v);
      else if (['match', 'begin', 'end'].includes(k)) regexes.push(v);
      else if (k === 'include') includes.push(v);
      else walk(v);
    }
  })(grammarJson);
  for (const n of names) assert.ok(n.endsWith(S), `scope ${n} lacks ${S}`);
  for (const i of includes) {
    assert.ok(i.startsWith('#') && i.slice(1) in grammarJson.repository, `include ${i}`);
  }
  for (const r of regexes) assert.doesNotThrow(() => new oniguruma.OnigScanner([r]), r);
});

// The example policies and the checker's valid fixtures all pass `switchboard
// check`, so each must tokenize cleanly: blocks balanced, nothing invalid,
// every key known, nothing left unscoped.
const policies = ['policies', 'tests/fixtures/valid'].flatMap((dir) =>
  readdirSync(join(root, dir), { recursive: true })
    .filter((f) => f.endsWith('.policy'))
    .map((f) => join(root, dir, f)),
);

test('there are example policies to read', () => {
  assert.ok(policies.length >= 5, `found ${policies.length}`);
});

for (const file of policies) {
  test(`example ${file.slice(root.length)}`, () => {
    const source = readFileSync(file, 'utf8');
    const { lines, endStack } = tokenize(source);
    assert.equal(endStack.depth, 1, 'every block is closed');
    const srcLines = source.split(/\r?\n/);
    for (const [i, tokens] of lines.entries()) {
      const where = `${file}:${i + 1}: ${srcLines[i]}`;
      for (const { text, scopes } of tokens) {
        assert.ok(!scopes.some((s) => s.startsWith('invalid.')), `${where}\n  invalid: ${text}`);
        assert.ok(!has(scopes, 'variable.other.key'), `${where}\n  unknown key: ${text}`);
        if (text.trim()) {
          const meaningful = scopes.filter((s) => s !== grammarJson.scopeName && s !== `meta.block${S}`);
          assert.ok(meaningful.length > 0, `${where}\n  unscoped: ${JSON.stringify(text)}`);
        }
      }
      const keyword = srcLines[i].match(/^([a-z]+)\b/)?.[1];
      if (keyword && DECLARATIONS.includes(keyword)) {
        assert.ok(has(tokens[0].scopes, `storage.type.${keyword}`), `${where}\n  not a declaration`);
      }
    }
  });
}
