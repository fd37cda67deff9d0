import { describe, expect, test } from 'vitest';
import { parseRoute, hrefFor, needsSignIn, pageTitle, isRouterClick, type Route } from './routing';

describe('parseRoute', () => {
  test.each<[string, Route]>([
    ['/', { page: 'home' }],
    ['', { page: 'home' }],
    ['/index.html', { page: 'home' }],
    ['/learn', { page: 'learn' }],
    ['/learn/', { page: 'learn' }],
    ['/wallet', { page: 'wallet' }],
    ['/platform', { page: 'platform' }],
    ['/platform?x=1', { page: 'platform' }],
    ['/learn/unit/ic-101', { page: 'unit', unitId: 'ic-101' }],
    ['/learn/unit/a%20b', { page: 'unit', unitId: 'a b' }],
    ['/learn/unit/', { page: 'notfound', path: '/learn/unit' }],
    ['/learn/unit/%E0%A4%A', { page: 'notfound', path: '/learn/unit/%E0%A4%A' }],
    ['/learn/unit/a/b', { page: 'notfound', path: '/learn/unit/a/b' }],
    ['/nope', { page: 'notfound', path: '/nope' }],
  ])('%s', (path, route) => {
    expect(parseRoute(path)).toEqual(route);
  });
  test('hrefFor round-trips', () => {
    for (const r of [{ page: 'home' }, { page: 'learn' }, { page: 'wallet' }, { page: 'platform' }, { page: 'unit', unitId: 'x/y z' }] as Route[]) {
      expect(parseRoute(hrefFor(r))).toEqual(r);
    }
  });
  test('needsSignIn and titles', () => {
    expect(needsSignIn({ page: 'learn' })).toBe(true);
    expect(needsSignIn({ page: 'unit', unitId: 'a' })).toBe(true);
    expect(needsSignIn({ page: 'wallet' })).toBe(true);
    expect(needsSignIn({ page: 'platform' })).toBe(false);
    expect(needsSignIn({ page: 'home' })).toBe(false);
    expect(pageTitle({ page: 'unit', unitId: 'a' })).toBe('Unit a');
    expect(pageTitle({ page: 'notfound', path: '/x' })).toBe('Page not found');
  });
});

describe('isRouterClick', () => {
  const click = { button: 0, metaKey: false, ctrlKey: false, shiftKey: false, altKey: false, defaultPrevented: false };
  const a = { href: 'http://x.localhost:8080/learn', target: '', hasDownload: false };
  const origin = 'http://x.localhost:8080';
  test('plain same-origin click', () => expect(isRouterClick(click, a, origin)).toBe(true));
  test('modifier keys and other buttons', () => {
    expect(isRouterClick({ ...click, ctrlKey: true }, a, origin)).toBe(false);
    expect(isRouterClick({ ...click, metaKey: true }, a, origin)).toBe(false);
    expect(isRouterClick({ ...click, button: 1 }, a, origin)).toBe(false);
    expect(isRouterClick({ ...click, defaultPrevented: true }, a, origin)).toBe(false);
  });
  test('other origins, targets, downloads', () => {
    expect(isRouterClick(click, { ...a, href: 'https://id.ai/' }, origin)).toBe(false);
    expect(isRouterClick(click, { ...a, target: '_blank' }, origin)).toBe(false);
    expect(isRouterClick(click, { ...a, hasDownload: true }, origin)).toBe(false);
  });
});
