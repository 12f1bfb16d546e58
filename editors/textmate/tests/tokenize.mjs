// Tokenizes text with the grammar through vscode-textmate, the engine VS Code uses.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import textmate from 'vscode-textmate';
import oniguruma from 'vscode-oniguruma';

const require = createRequire(import.meta.url);
export const grammarPath = fileURLToPath(new URL('../switchboard-policy.tmLanguage.json', import.meta.url));
export const grammarJson = JSON.parse(readFileSync(grammarPath, 'utf8'));

await oniguruma.loadWASM(readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm')).buffer);
const registry = new textmate.Registry({
  onigLib: Promise.resolve({
    createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
    createOnigString: (text) => new oniguruma.OnigString(text),
  }),
  loadGrammar: async (scopeName) =>
    scopeName === grammarJson.scopeName ? textmate.parseRawGrammar(readFileSync(grammarPath, 'utf8'), grammarPath) : null,
});
const grammar = await registry.loadGrammar(grammarJson.scopeName);

/** Every line's tokens as { text, scopes }, and the rule stack left at the end. */
export function tokenize(source) {
  let stack = textmate.INITIAL;
  const lines = source.split(/\r?\n/).map((line) => {
    const result = grammar.tokenizeLine(line, stack);
    stack = result.ruleStack;
    return result.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
  });
  return { lines, endStack: stack };
}

/** The scopes of the first token whose text is `text` (on `line`, if given). */
export function scopesOf(source, text, line) {
  const { lines } = tokenize(source);
  for (const [i, tokens] of lines.entries()) {
    if (line !== undefined && i !== line) continue;
    const token = tokens.find((t) => t.text === text);
    if (token) return token.scopes;
  }
  throw new Error(`no token ${JSON.stringify(text)} in ${JSON.stringify(source)}`);
}
