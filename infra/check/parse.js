// Parses each Bicep file named on the command line with the tree-sitter
// Bicep grammar and prints one JSON document: for each file, its syntax
// errors and its named nodes (type, field name, text span, children).
// internal/infracheck reads this; keep this script small and dumb.
'use strict';
const path = require('path');
const fs = require('fs');
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
  const result = {};
  for (const file of process.argv.slice(2)) {
    const tree = parser.parse(fs.readFileSync(file, 'utf8'));
    result[file] = { errors: errors(tree.rootNode, []), tree: toJSON(tree.rootNode) };
  }
  process.stdout.write(JSON.stringify(result));
})().catch((e) => { console.error(e); process.exit(1); });
