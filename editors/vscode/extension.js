// Starts `autopilot lsp` for `.apr` files: diagnostics of check and lint as
// you type, hover, completion, quick fixes, definitions, formatting
// (docs/lsp.md). The binary is `autopilot.path` (default: `autopilot` on
// the PATH).
'use strict';

const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

/** The server's command from the settings. */
function serverOptions(config) {
  const command = (config.get('path') || 'autopilot').trim() || 'autopilot';
  return { command, args: ['lsp'] };
}

function activate(context) {
  const config = vscode.workspace.getConfiguration('autopilot');
  const clientOptions = {
    documentSelector: [{ scheme: 'file', language: 'apr' }],
  };
  client = new LanguageClient('autopilot', 'autopilot', serverOptions(config), clientOptions);
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('autopilot.path')) {
        vscode.commands.executeCommand('workbench.action.restartExtensionHost');
      }
    }),
  );
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate, serverOptions };
