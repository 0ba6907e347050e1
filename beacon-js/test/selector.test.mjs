import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selector } from '../src/lib/selector.ts';

/** Stands in for a DOM element: selector() reads nodeType, tagName, id and classList. */
const el = (tagName, id = '', classes = [], extra = {}) => ({ nodeType: 1, tagName, id, classList: classes, ...extra });

test('tag, id and up to three classes', () => {
  assert.equal(selector(el('BUTTON', 'buy', ['primary'])), 'button#buy.primary');
  assert.equal(selector(el('DIV', '', ['a', 'b', 'c', 'd'])), 'div.a.b.c');
  assert.equal(selector(el('svg')), 'svg');
});

test('text never appears, only the element; a text node is named by its parent', () => {
  const input = el('INPUT', 'email', [], { value: 'jane@example.com', textContent: 'secret' });
  assert.equal(selector(input), 'input#email');
  assert.equal(selector({ nodeType: 3, parentElement: el('P', 'intro') }), 'p#intro');
});

test('ids and classes are masked like any text', () => {
  assert.equal(selector(el('LI', 'order-1234567890', ['open'])), 'li#order-[number].open');
  assert.doesNotMatch(selector(el('A', '', ['jane@example.com'])), /jane|example/);
});

test('nothing gives nothing', () => {
  assert.equal(selector(null), undefined);
  assert.equal(selector(undefined), undefined);
  assert.equal(selector({ nodeType: 3, parentElement: null }), undefined);
});
