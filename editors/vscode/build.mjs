// Builds what the extension ships: the grammar, copied from ../textmate (vsce
// packages only files inside this folder), and src/ bundled with
// vscode-languageclient into one file, so the .vsix needs no node_modules.
import { copyFileSync, mkdirSync } from 'node:fs';
import * as esbuild from 'esbuild';

mkdirSync('syntaxes', { recursive: true });
copyFileSync('../textmate/switchboard-policy.tmLanguage.json', 'syntaxes/switchboard-policy.tmLanguage.json');

await esbuild.build({
  entryPoints: ['src/extension.js'],
  outfile: 'dist/extension.js',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode'], // provided by VS Code at run time
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
});
