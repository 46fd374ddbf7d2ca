import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tabwrite } from '../../src/util/tabwriter.js';

test('columns padded to the widest cell plus 3, trailing tabs keep padding', () => {
  const text = tabwrite([
    ['ID', 'LABELS'],
    ['1', 'reserved:host'],
    ['12345', 'k8s:app=client'],
  ]);
  assert.equal(text, 'ID      LABELS           \n1       reserved:host    \n12345   k8s:app=client   \n');
});

test('without a trailing tab the last cell is not padded; min width is 5', () => {
  assert.equal(tabwrite([['a', 'b'], ['c', 'dd']], { trailingTab: false }), 'a    b\nc    dd\n');
});
