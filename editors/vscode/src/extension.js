// Starts `switchboard lsp` (the binary named by the `switchboard.path`
// setting) for policy files and the hook scripts beside them.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;
/** @type {vscode.FileSystemWatcher | undefined} */
let watcher;

/** How the server is run: `<switchboard.path> lsp`, over stdio. */
function serverOptions(configuration) {
  const command = configuration.get('path') || 'switchboard';
  return { command, args: ['lsp'], transport: TransportKind.stdio };
}

function clientOptions(fileEvents) {
  return {
    documentSelector: [
      { language: 'switchboard-policy' },
      // Hook scripts: VS Code has no language id for Rhai, so match by name.
      { scheme: 'file', pattern: '**/*.rhai' },
    ],
    // Hook scripts and tables (CSV) change what a policy means.
    synchronize: { fileEvents },
  };
}

async function start() {
  const options = serverOptions(vscode.workspace.getConfiguration('switchboard'));
  client = new LanguageClient('switchboard', 'Switchboard', options, clientOptions(watcher));
  try {
    await client.start();
  } catch (error) {
    client = undefined;
    const reason = error && error.message ? error.message : String(error);
    // Not awaited: activation must not wait for the user to answer.
    vscode.window
      .showErrorMessage(
        `Could not start \`${options.command} lsp\`: ${reason}. Set switchboard.path to the switchboard binary.`,
        'Open Settings',
      )
      .then((choice) => {
        if (choice) vscode.commands.executeCommand('workbench.action.openSettings', 'switchboard.path');
      });
  }
}

async function stop() {
  const running = client;
  client = undefined;
  if (running) await running.stop();
}

async function restart() {
  await stop();
  await start();
}

async function activate(context) {
  watcher = vscode.workspace.createFileSystemWatcher('**/*.{policy,rhai,csv}');
  context.subscriptions.push(
    watcher,
    vscode.commands.registerCommand('switchboard.restartServer', restart),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('switchboard.path')) return restart();
    }),
  );
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate, serverOptions, clientOptions };
