// Path → page, for the History API router (no hash). The asset canister serves index.html for
// every deep link, so any of these paths can be loaded directly.

export type Route =
  | { page: 'home' }
  | { page: 'learn' }
  | { page: 'unit'; unitId: string }
  | { page: 'wallet' }
  | { page: 'platform' }
  | { page: 'notfound'; path: string };

export function parseRoute(pathname: string): Route {
  let path = pathname.split(/[?#]/)[0] || '/';
  if (path.length > 1) path = path.replace(/\/+$/, '');
  if (path === '/' || path === '' || path === '/index.html') return { page: 'home' };
  if (path === '/learn') return { page: 'learn' };
  if (path === '/wallet') return { page: 'wallet' };
  if (path === '/platform') return { page: 'platform' };
  const m = /^\/learn\/unit\/([^/]+)$/.exec(path);
  if (m) {
    let unitId: string;
    try {
      unitId = decodeURIComponent(m[1]);
    } catch {
      return { page: 'notfound', path };
    }
    if (unitId.trim() !== '') return { page: 'unit', unitId };
  }
  return { page: 'notfound', path };
}

export function hrefFor(route: Route): string {
  switch (route.page) {
    case 'home':
      return '/';
    case 'learn':
      return '/learn';
    case 'unit':
      return `/learn/unit/${encodeURIComponent(route.unitId)}`;
    case 'wallet':
      return '/wallet';
    case 'platform':
      return '/platform';
    case 'notfound':
      return route.path;
  }
}

/** Pages that need a signed-in learner. */
export function needsSignIn(route: Route): boolean {
  return route.page === 'learn' || route.page === 'unit' || route.page === 'wallet';
}

export function pageTitle(route: Route): string {
  switch (route.page) {
    case 'home':
      return 'Learn to earn';
    case 'learn':
      return 'Learn';
    case 'unit':
      return `Unit ${route.unitId}`;
    case 'wallet':
      return 'Wallet';
    case 'platform':
      return 'Platform';
    case 'notfound':
      return 'Page not found';
  }
}

/**
 * Whether a click on a link should be handled by the router: a same-origin link, left button,
 * no modifier key, no `target`, no `download`.
 */
export function isRouterClick(
  ev: { button: number; metaKey: boolean; ctrlKey: boolean; shiftKey: boolean; altKey: boolean; defaultPrevented: boolean },
  anchor: { href: string; target: string; hasDownload: boolean },
  origin: string,
): boolean {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return false;
  if (anchor.target && anchor.target !== '_self') return false;
  if (anchor.hasDownload) return false;
  try {
    return new URL(anchor.href, origin).origin === origin;
  } catch {
    return false;
  }
}
