// Runs the client against stand-ins for the `vscode` API and the language
// client (no VS Code is downloaded), and checks the manifest and the bundle.
'use strict';

const { test, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');

const here = path.join(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));

// What the stand-ins saw.
let seen;
let settings;
let startFails;

const fakeVscode = {
  workspace: {
    getConfiguration: (section) => ({ get: (key) => settings[`${section}.${key}`] }),
    createFileSystemWatcher: (glob) => ({ glob, dispose() {} }),
    onDidChangeConfiguration: (listener) => {
      seen.configListener = listener;
      return { dispose() {} };
    },
  },
  commands: {
    registerCommand: (id, run) => {
      seen.commands[id] = run;
      return { dispose() {} };
    },
    executeCommand: async () => {},
  },
  window: {
    showErrorMessage: async (message) => {
      seen.errors.push(message);
      return undefined;
    },
  },
};

class FakeLanguageClient {
  constructor(id, name, serverOptions, clientOptions) {
    Object.assign(this, { id, name, serverOptions, clientOptions });
    seen.clients.push(this);
  }
  async start() {
    if (startFails) throw new Error('spawn switchboard ENOENT');
    this.running = true;
  }
  async stop() {
    this.running = false;
  }
}
const fakeClientModule = { LanguageClient: FakeLanguageClient, TransportKind: { stdio: 0, ipc: 1 } };

// For loading the real client: anything it reaches for at load time (it
// extends some vscode classes) is a class whose members are such classes.
function anything() {
  return new Proxy(class {}, {
    get: (target, key) => (key in target ? target[key] : anything()),
  });
}

// Serve the stand-ins to `require('vscode')` and `require('vscode-languageclient/node')`.
const load = Module._load;
let stubClient = true;
Module._load = function (request, ...rest) {
  if (request === 'vscode') return stubClient ? fakeVscode : anything();
  if (request === 'vscode-languageclient/node' && stubClient) return fakeClientModule;
  return load.call(this, request, ...rest);
};

const extension = require('../src/extension.js');

beforeEach(async () => {
  await extension.deactivate();
  seen = { clients: [], commands: {}, errors: [], configListener: undefined };
  settings = { 'switchboard.path': 'switchboard' };
  startFails = false;
});

test('starts `<switchboard.path> lsp` over stdio', async () => {
  settings['switchboard.path'] = '/opt/switchboard/bin/switchboard';
  const context = { subscriptions: [] };
  await extension.activate(context);
  assert.equal(seen.clients.length, 1);
  const [client] = seen.clients;
  assert.equal(client.id, 'switchboard', 'the id makes `switchboard.trace.server` the trace setting');
  assert.deepEqual(client.serverOptions, {
    command: '/opt/switchboard/bin/switchboard',
    args: ['lsp'],
    transport: fakeClientModule.TransportKind.stdio,
  });
  assert.ok(client.running);
  assert.ok(context.subscriptions.length >= 3, 'watcher, command and listener are disposed with the extension');
});

test('an empty switchboard.path falls back to `switchboard`', () => {
  const options = extension.serverOptions({ get: () => '' });
  assert.equal(options.command, 'switchboard');
  assert.deepEqual(options.args, ['lsp']);
});

test('serves policy files and the hook scripts beside them', async () => {
  await extension.activate({ subscriptions: [] });
  const { documentSelector, synchronize } = seen.clients[0].clientOptions;
  assert.deepEqual(documentSelector, [
    { language: 'switchboard-policy' },
    { scheme: 'file', pattern: '**/*.rhai' },
  ]);
  assert.equal(synchronize.fileEvents.glob, '**/*.{policy,rhai,csv}');
});

test('a missing binary is reported with the setting to fix', async () => {
  startFails = true;
  settings['switchboard.path'] = 'no-such-switchboard';
  await extension.activate({ subscriptions: [] });
  assert.equal(seen.errors.length, 1);
  assert.match(seen.errors[0], /no-such-switchboard lsp/);
  assert.match(seen.errors[0], /switchboard\.path/);
});

test('changing switchboard.path restarts the server with the new binary', async () => {
  await extension.activate({ subscriptions: [] });
  const [first] = seen.clients;
  settings['switchboard.path'] = '/usr/local/bin/switchboard';
  await seen.configListener({ affectsConfiguration: (s) => s === 'switchboard.path' });
  assert.equal(first.running, false);
  assert.equal(seen.clients.length, 2);
  assert.equal(seen.clients[1].serverOptions.command, '/usr/local/bin/switchboard');
  await seen.configListener({ affectsConfiguration: () => false });
  assert.equal(seen.clients.length, 2, 'other settings do not restart it');
});

test('the restart command restarts the server', async () => {
  await extension.activate({ subscriptions: [] });
  const command = manifest.contributes.commands[0].command;
  assert.ok(seen.commands[command], `${command} is registered`);
  await seen.commands[command]();
  assert.equal(seen.clients.length, 2);
  assert.equal(seen.clients[0].running, false);
  assert.ok(seen.clients[1].running);
});

test('deactivate stops the server', async () => {
  await extension.activate({ subscriptions: [] });
  await extension.deactivate();
  assert.equal(seen.clients[0].running, false);
});

test('the manifest ties the language, the grammar and the setting together', () => {
  assert.equal(manifest.name, 'switchboard-policy');
  assert.equal(manifest.publisher, 'switchboard');
  const [language] = manifest.contributes.languages;
  assert.equal(language.id, 'switchboard-policy');
  assert.deepEqual(language.extensions, ['.policy']);
  const [grammar] = manifest.contributes.grammars;
  assert.equal(grammar.language, language.id);
  const grammarJson = JSON.parse(fs.readFileSync(path.join(here, grammar.path), 'utf8'));
  assert.equal(grammar.scopeName, grammarJson.scopeName);
  const source = fs.readFileSync(path.join(here, '../textmate/switchboard-policy.tmLanguage.json'), 'utf8');
  assert.equal(fs.readFileSync(path.join(here, grammar.path), 'utf8'), source, 'the copy is current');
  assert.equal(manifest.contributes.configuration.properties['switchboard.path'].default, 'switchboard');
  assert.ok(fs.existsSync(path.join(here, manifest.main)), `${manifest.main} is built`);
});

test('the language configuration comments with # and pairs braces and quotes', () => {
  const file = manifest.contributes.languages[0].configuration;
  const config = JSON.parse(fs.readFileSync(path.join(here, file), 'utf8'));
  assert.equal(config.comments.lineComment, '#');
  assert.deepEqual(config.brackets, [['{', '}']]);
  const pairs = config.autoClosingPairs.map((p) => p.open + p.close);
  assert.deepEqual(pairs.sort(), ['""', '{}']);
  const increase = new RegExp(config.indentationRules.increaseIndentPattern);
  assert.ok(increase.test('inbox sales shared {'));
  assert.ok(increase.test('  deflection { # a comment'));
  assert.ok(!increase.test('template t "a {"'));
  assert.ok(!increase.test('# inbox sales shared {'));
  assert.ok(new RegExp(config.indentationRules.decreaseIndentPattern).test('  }'));
});

test('the bundle loads with the real language client and exports the entry points', () => {
  stubClient = false;
  try {
    const bundle = path.join(here, manifest.main);
    delete require.cache[bundle];
    const loaded = require(bundle);
    assert.equal(typeof loaded.activate, 'function');
    assert.equal(typeof loaded.deactivate, 'function');
    assert.ok(!/require\("vscode-languageclient/.test(fs.readFileSync(bundle, 'utf8')), 'the client is bundled in');
  } finally {
    stubClient = true;
  }
});
