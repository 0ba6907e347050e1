/** The page's navigation timing entry, with what lib.dom may lack (`activationStart`, for prerendered pages). */
export type Nav = PerformanceNavigationTiming & { activationStart?: number };

/** The navigation timing entry, or undefined where the browser has none. */
export const nav = (): Nav | undefined => performance.getEntriesByType('navigation')[0] as Nav | undefined;
