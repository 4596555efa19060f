// The extension starts `autopilot lsp` with the configured binary, for `.apr`
// files, and declares its setting. `vscode` exists only inside the editor:
// a stand-in records what the extension asks of it.
'use strict';

const assert = require('assert');
const Module = require('module');
const path = require('path');

const started = [];
const stub = {
  workspace: {
    getConfiguration: () => ({ get: (k) => (k === 'path' ? '/opt/bin/autopilot ' : undefined) }),
    onDidChangeConfiguration: () => ({ dispose() {} }),
  },
  commands: { executeCommand() {} },
};
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === 'vscode') return stub;
  if (request === 'vscode-languageclient/node') {
    return {
      LanguageClient: class {
        constructor(id, name, server, client) {
          started.push({ id, server, client });
        }
        start() { return Promise.resolve(); }
        stop() { return Promise.resolve(); }
      },
    };
  }
  return load.call(this, request, parent, isMain);
};

const ext = require(path.join(__dirname, '..', 'extension.js'));
const context = { subscriptions: [] };
ext.activate(context);
assert.strictEqual(started.length, 1);
assert.deepStrictEqual(started[0].server, { command: '/opt/bin/autopilot', args: ['lsp'] });
assert.deepStrictEqual(started[0].client.documentSelector, [{ scheme: 'file', language: 'apr' }]);
assert.strictEqual(context.subscriptions.length, 1);
assert.deepStrictEqual(ext.serverOptions({ get: () => undefined }), { command: 'autopilot', args: ['lsp'] });
assert.deepStrictEqual(ext.serverOptions({ get: () => '  ' }), { command: 'autopilot', args: ['lsp'] });

const pkg = require(path.join(__dirname, '..', 'package.json'));
assert.strictEqual(pkg.main, './extension.js');
assert.deepStrictEqual(pkg.activationEvents, ['onLanguage:apr']);
assert.strictEqual(pkg.contributes.configuration.properties['autopilot.path'].default, 'autopilot');
// The language client is a runtime dependency, so a packaged .vsix has it.
assert.ok(pkg.dependencies['vscode-languageclient']);
console.log('extension: ok');
