import { guarded } from './guard';

/**
 * Observes performance entries of `type`, those already recorded included (`buffered`),
 * with `options` such as a `durationThreshold`. A browser that does not know the type only
 * logs a warning.
 */
export function observe(type: string, callback: (entries: any[]) => void, options?: object): void {
  new PerformanceObserver(guarded((list: PerformanceObserverEntryList) => callback(list.getEntries()))).observe({ type, buffered: true, ...options });
}
