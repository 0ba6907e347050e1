import { guarded } from './guard';

/**
 * Calls `callback` whenever the page may be about to go away: when it is hidden (tab
 * switch, minimise, mobile app switch; often the last reliable moment) and on `pagehide`
 * (navigation, close, bfcache). Capture phase, so the page cannot stop the events first.
 */
export function onHidden(callback: () => void): void {
  const hidden = guarded(callback);
  addEventListener(
    'visibilitychange',
    () => {
      if (document.visibilityState === 'hidden') hidden();
    },
    true,
  );
  addEventListener('pagehide', hidden, true);
}
