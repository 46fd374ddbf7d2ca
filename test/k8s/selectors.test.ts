import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseFieldSelector,
  parseLabelSelector,
  selectableFieldsOf,
  selectorFromMap,
  selectorFromObject,
  unsupportedFieldError,
  validateLabelSelectorObject,
  type LabelSelector,
} from '../../src/k8s/selectors.js';
import { lookupResource } from '../../src/k8s/resources.js';
import { renderFieldError } from '../../src/k8s/validation/field.js';

function sel(text: string): LabelSelector {
  const r = parseLabelSelector(text);
  assert.ok(r.ok, `${text}: ${r.ok ? '' : r.error}`);
  return r.value;
}

const web = { app: 'web', tier: 'front', version: '3' };
const db = { app: 'db', tier: 'back' };

test('label selector grammar: equality, sets, existence, negation, AND', () => {
  const cases: [string, boolean, boolean][] = [
    // selector, matches web, matches db
    ['', true, true],
    ['app=web', true, false],
    ['app==web', true, false],
    ['app!=web', false, true],
    ['app in (web,db)', true, true],
    ['app in (web, cache)', true, false],
    ['app notin (web)', false, true],
    ['version', true, false],
    ['!version', false, true],
    ['app=web,tier=front', true, false],
    ['app,tier=back', false, true],
    ['missing!=x', true, true],
    ['version>2', true, false],
    ['version<3', false, false],
    ['  app = web , tier in ( front ) ', true, false],
  ];
  for (const [text, w, d] of cases) {
    const s = sel(text);
    assert.equal(s.matches(web), w, `${text} vs web`);
    assert.equal(s.matches(db), d, `${text} vs db`);
  }
  assert.equal(sel('').matches(undefined), true);
  assert.equal(sel('app').matches(undefined), false);
  assert.equal(sel('!app').matches(undefined), true);
});

test('label selectors print canonically, sorted by key', () => {
  assert.equal(sel('tier in (b,a),app=web,!x,y').toString(), 'app=web,tier in (a,b),!x,y');
});

test('label selector syntax errors read like the apiserver', () => {
  const bad: [string, string][] = [
    ['a in (x', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['a in x', "unable to parse requirement: found 'x', expected: '('"],
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['a=b,', "found '', expected: identifier after ','"],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    [',a', "found ',', expected: !, identifier, or 'end of string'"],
    ['!a=b', "found '=', expected: ',' or 'end of string'"],
    ['a>x', "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer"],
  ];
  for (const [text, message] of bad) {
    const r = parseLabelSelector(text);
    assert.equal(r.ok, false, text);
    if (!r.ok) assert.equal(r.error, message, text);
  }
  const badKey = parseLabelSelector('-bad=x');
  assert.ok(!badKey.ok && badKey.error.startsWith('unable to parse requirement: key: Invalid value: "-bad": name part must consist of'));
  const badValue = parseLabelSelector('a=b c!');
  assert.equal(badValue.ok, false);
});

test('matchLabels/matchExpressions compile to the same matcher as the text form', () => {
  const obj = selectorFromObject({
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'tier', operator: 'In', values: ['front', 'edge'] },
      { key: 'legacy', operator: 'DoesNotExist' },
    ],
  });
  const text = sel('app=web,tier in (front,edge),!legacy');
  for (const labels of [web, db, { app: 'web', tier: 'edge' }, { app: 'web', tier: 'edge', legacy: '1' }]) {
    assert.equal(obj.matches(labels), text.matches(labels), JSON.stringify(labels));
  }
  assert.equal(selectorFromObject(undefined).matches(web), false, 'a nil selector selects nothing');
  assert.equal(selectorFromObject({}).matches(web), true, 'an empty selector selects everything');
  assert.equal(selectorFromMap({ app: 'db' }).matches(db), true);
  assert.equal(selectorFromMap({}).matches(db), true);
});

test('selector objects are validated with field paths', () => {
  const errs = validateLabelSelectorObject(
    {
      matchLabels: { 'bad key!': 'v' },
      matchExpressions: [
        { key: 'a', operator: 'In' },
        { key: 'b', operator: 'Exists', values: ['x'] },
        { key: 'c', operator: 'Near', values: ['x'] },
      ],
    },
    'spec.selector',
  ).map(renderFieldError);
  assert.equal(errs.length, 4);
  assert.match(errs[0]!, /^spec\.selector\.matchLabels: Invalid value: "bad key!": name part must consist of/);
  assert.equal(errs[1], "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'");
  assert.equal(errs[2], "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
  assert.equal(
    errs[3],
    'spec.selector.matchExpressions[2].operator: Unsupported value: "Near": supported values: "DoesNotExist", "Exists", "In", "NotIn"',
  );
});

test('field selectors: =, ==, !=, empty values, escapes, and per-kind support', () => {
  const pods = lookupResource('pods')!;
  const p = {
    metadata: { name: 'web-1', namespace: 'default' },
    spec: { nodeName: 'node-a', hostNetwork: false },
    status: { phase: 'Running', podIP: '10.0.1.5' },
  };
  const fields = selectableFieldsOf(pods, p);
  assert.equal(fields['spec.nodeName'], 'node-a');
  assert.equal(fields['status.podIP'], '10.0.1.5');
  assert.equal(fields['spec.hostNetwork'], 'false');
  const check = (text: string, want: boolean): void => {
    const r = parseFieldSelector(text);
    assert.ok(r.ok, text);
    assert.equal(r.value.matches(fields), want, text);
  };
  check('spec.nodeName=node-a', true);
  check('spec.nodeName==node-b', false);
  check('spec.nodeName!=node-b,status.phase=Running', true);
  check('status.podIP=10.0.1.5,metadata.name=web-1', true);
  check('spec.nodeName=', false);
  const unscheduled = selectableFieldsOf(pods, { metadata: { name: 'x' }, spec: {} });
  const r = parseFieldSelector('spec.nodeName=');
  assert.ok(r.ok && r.value.matches(unscheduled), 'empty value selects unscheduled pods');
  const escaped = parseFieldSelector('metadata.name=a\\,b');
  assert.ok(escaped.ok && escaped.value.requirements[0]!.value === 'a,b');
  const bad = parseFieldSelector('spec.nodeName');
  assert.ok(!bad.ok && bad.error === "invalid selector: 'spec.nodeName'; can't understand 'spec.nodeName'");
  const unsupported = parseFieldSelector('spec.foo=1');
  assert.ok(unsupported.ok);
  assert.equal(unsupportedFieldError(pods, unsupported.value), 'field label not supported: spec.foo');
  const nodeName = parseFieldSelector('spec.nodeName=x');
  assert.ok(nodeName.ok);
  assert.equal(unsupportedFieldError(pods, nodeName.value), undefined);
  assert.equal(unsupportedFieldError(lookupResource('cm')!, nodeName.value), 'field label not supported: spec.nodeName');
});
