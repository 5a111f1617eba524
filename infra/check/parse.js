// Parses Bicep files with the tree-sitter Bicep grammar. Each line on stdin
// is a JSON array of file names; for each, one line on stdout: {"files":
// {name: {errors, tree}}} with each file's syntax errors and named nodes
// (type, field name, text span, children), or {"error": message}. One run
// serves many requests, so the grammar loads once however many copies a
// test parses. By hand: echo '["main.bicep"]' | node parse.js
// internal/testenv/infracheck reads this; keep this script small and dumb.
'use strict';
const path = require('path');
const fs = require('fs');
const readline = require('readline');
const Parser = require('web-tree-sitter');

function toJSON(node, field) {
  const out = { type: node.type, start: node.startIndex, end: node.endIndex, row: node.startPosition.row + 1 };
  if (field) out.field = field;
  if (node.isMissing) out.missing = true;
  const kids = [];
  const cursor = node.walk();
  if (cursor.gotoFirstChild()) {
    do {
      const child = cursor.currentNode;
      if (child.isNamed || child.type === 'ERROR') kids.push(toJSON(child, cursor.currentFieldName));
    } while (cursor.gotoNextSibling());
  }
  if (kids.length) out.children = kids;
  return out;
}

function errors(node, acc) {
  if (node.type === 'ERROR' || node.isMissing) {
    acc.push({ row: node.startPosition.row + 1, column: node.startPosition.column + 1, kind: node.isMissing ? 'missing ' + node.type : 'syntax error' });
  }
  for (let i = 0; i < node.childCount; i++) errors(node.child(i), acc);
  return acc;
}

(async () => {
  await Parser.init();
  const wasm = path.join(path.dirname(require.resolve('tree-sitter-bicep/package.json')), 'tree-sitter-bicep.wasm');
  const Bicep = await Parser.Language.load(wasm);
  const parser = new Parser();
  parser.setLanguage(Bicep);
  for await (const line of readline.createInterface({ input: process.stdin })) {
    let answer;
    try {
      const files = {};
      for (const file of JSON.parse(line)) {
        const tree = parser.parse(fs.readFileSync(file, 'utf8'));
        files[file] = { errors: errors(tree.rootNode, []), tree: toJSON(tree.rootNode) };
        tree.delete();
      }
      answer = { files };
    } catch (e) {
      answer = { error: String(e) };
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  }
})().catch((e) => { console.error(e); process.exit(1); });
