/**
 * Every shape the beacon sends or is configured with, in one place.
 * The wire format is docs/protocol.md, version 1; collector/schema.py validates it.
 * Optional fields may hold `undefined`: JSON.stringify leaves those keys out.
 */

/** How an error reached the beacon (docs/protocol.md, event "error", field `mechanism`). */
export type Mechanism = 'onerror' | 'onunhandledrejection' | 'manual' | 'message';

/** The fields every event carries. */
export interface BaseEvent {
  event_id: string;
  ts: number;
  page_url: string;
}

/** One link of an error's `cause` chain. */
export interface Cause {
  error_type: string;
  message: string;
  stack?: string;
}

/** Something that happened before an error: a click, a navigation, a console line, a failed request. */
export interface Breadcrumb {
  ts: number;
  category: 'click' | 'navigation' | 'console' | 'fetch' | 'xhr';
  message: string;
  level: 'info' | 'warning' | 'error';
}

/** Event `"type": "error"`: an uncaught error, an unhandled rejection or a reported error or message. */
export interface ErrorEvent extends BaseEvent {
  type: 'error';
  error_type: string;
  message: string;
  stack?: string;
  file?: string;
  line?: number;
  column?: number;
  mechanism: Mechanism;
  level?: string;
  cross_origin?: boolean;
  causes?: Cause[];
  breadcrumbs?: Breadcrumb[];
  debug_ids?: Record<string, string>;
}

/** Event `"type": "resource"`: an image, script, stylesheet or media file that failed to load. */
export interface ResourceEvent extends BaseEvent {
  type: 'resource';
  url: string;
  element: string;
  source?: 'error_event' | 'resource_timing';
  status?: number;
  duration?: number;
}

/** `failure`, `nel_phase` and `nel_type` of a failed request (lib/classify.ts). */
export type Failure = [failure: string, nel_phase: string, nel_type: string];

/** Event `"type": "network"`: a fetch or XMLHttpRequest of the page that failed. */
export interface NetworkEvent extends BaseEvent {
  type: 'network';
  api: 'fetch' | 'xhr';
  method: string;
  url: string;
  status: number;
  duration: number;
  failure: string;
  nel_phase: string;
  nel_type: string;
}

/**
 * Event `"type": "slow_request"`: a fetch or XMLHttpRequest of the page that took a second
 * or more, with its phases from Resource Timing when the server lets the page see them.
 */
export interface SlowRequestEvent extends BaseEvent, Partial<Timing> {
  type: 'slow_request';
  /** The Resource Timing initiator type: `fetch` or `xmlhttprequest`. */
  api: string;
  url: string;
  status?: number;
  duration: number;
}

/** What caused a vital's value (docs/protocol.md, "Attribution keys"). */
export type Attribution = Record<string, string | number | undefined>;

/** Event `"type": "vital"`: a Core Web Vital report from web-vitals. */
export interface VitalEvent extends BaseEvent {
  type: 'vital';
  name: 'LCP' | 'INP' | 'CLS' | 'FCP' | 'TTFB';
  value: number;
  metric_id: string;
  navigation_type?: string;
  attribution?: Attribution;
}

/** A request's phases, in ms (lib/phases.ts). */
export interface Timing {
  dns: number;
  connect: number;
  tls?: number;
  ttfb: number;
}

/** Navigation timing phases of a page view, in ms (lib/phases.ts). */
export interface Phases extends Timing {
  dom_interactive: number;
  load: number;
}

/** Event `"type": "pageview"`: a page load or a single-page-app route change. */
export interface PageViewEvent extends BaseEvent, Partial<Phases> {
  type: 'pageview';
  navigation: string;
  referrer?: string;
}

/** Event `"type": "csp"`: a Content Security Policy violation. */
export interface CspEvent extends BaseEvent {
  type: 'csp';
  blocked_uri: string;
  effective_directive: string;
  original_policy?: string;
  disposition?: string;
  source_file?: string;
  line?: number;
  column?: number;
  sample?: string;
  status_code?: number;
}

/** Event `"type": "report"`: a ReportingObserver report (deprecation, intervention). */
export interface ReportEvent extends BaseEvent {
  type: 'report';
  report_type: string;
  report_id?: string;
  message?: string;
  source_file?: string;
  line?: number;
  column?: number;
}

/** Any event a batch can carry, tagged by `type`. */
export type BeaconEvent = ErrorEvent | ResourceEvent | NetworkEvent | SlowRequestEvent | VitalEvent | PageViewEvent | CspEvent | ReportEvent;

/** Events dropped since the last batch, by reason (`queue_full`, `rate_limit`, `duplicate`, `rejected`). */
export type Dropped = Record<string, number>;

/** Counts a dropped event (or `n` of them) under `reason`. */
export type Drop = (reason: string, n?: number) => void;

/** What every batch of one flush shares (the batch fields other than id, time, events). */
export interface BatchContext {
  release?: string;
  environment?: string;
  session_id?: string;
  user_id?: string;
  tags?: Record<string, string>;
  dropped?: Dropped;
  sdk: string;
}

/** One request body: shared context plus 1–100 events. */
export interface Batch extends BatchContext {
  v: 1;
  batch_id: string;
  sent_at: number;
  events: BeaconEvent[];
}

/**
 * Settings as the page gives them: the `<script>` tag's `dataset` (strings) or the object
 * passed to `vigil('init', …)`. The names are the same in both (`data-sample-rate` is
 * `dataset.sampleRate`). lib/config.ts turns them into a Config.
 */
export interface Options {
  project?: unknown;
  key?: unknown;
  endpoint?: unknown;
  release?: unknown;
  environment?: unknown;
  sampleRate?: unknown;
  errorSampleRate?: unknown;
  requireConsent?: unknown;
  keepParams?: unknown;
}

/** The beacon's validated settings (see lib/config.ts). */
export interface Config {
  /** Collector base URLs without a trailing slash, the primary first. */
  bases: string[];
  project: string;
  key: string;
  release?: string;
  environment?: string;
  /** Share of sessions that send anything (0..1; above 1 counts as 1). */
  sampleRate: number;
  /** Share of sessions that send errors (0..1; above 1 counts as 1), decided apart from sampleRate. */
  errorSampleRate: number;
  requireConsent: boolean;
  /** Query parameters whose values are kept in URLs; every other value is redacted. */
  keepParams: string[];
}

/** A browsing session as kept in storage under `vigil.session` (lib/session.ts). */
export interface Session {
  id: string;
  start: number;
  last: number;
  sampled: boolean;
  error_sampled: boolean;
}

/** The running beacon that capture sources and the API report into (client.ts). */
export interface Client {
  /** Queues an event, subject to consent, sampling and flood control. */
  capture(event: BeaconEvent): void;
  /** Records a breadcrumb for later errors. */
  crumb(category: Breadcrumb['category'], message: string, level?: Breadcrumb['level']): void;
  /** True for the collectors' events URLs and the beacon's own script: never reported. */
  own(url: string): boolean;
  flush(): void;
  /** The page may be going away: flush and hand the outbox to sendBeacon (lib/transport.ts). */
  hide(): void;
  setUser(id: unknown): void;
  setTag(key: unknown, value: unknown): void;
  consent(granted: unknown): void;
}

/**
 * What the loader (loader.ts) leaves in `window.vigil` until the full beacon takes over:
 * the calls made so far in `q` and the `error`/`unhandledrejection` events seen in `e`,
 * each with its time (ms since the epoch).
 */
export interface LoaderStub {
  (...args: unknown[]): void;
  q: unknown[][];
  e: [Event, number][];
  version?: undefined;
}

/** `window.vigil`: `vigil('captureError', err)` or `vigil.captureError(err)`. */
export interface VigilApi {
  (command: string, ...args: unknown[]): unknown;
  version: string;
  init(options: Options): void;
  setUser(id: unknown): void;
  setTag(key: string, value: unknown): void;
  /** Reports an error the page caught itself; returns its event id once the beacon runs. */
  captureError(error: unknown): string | undefined;
  /** Reports a message (`level`: `error`, `warning` or `info`, the default); returns its event id. */
  captureMessage(message: unknown, level?: string): string | undefined;
  consent(granted: boolean): void;
  /** Sends every queued event now. */
  flush(): void;
}

declare global {
  interface Window {
    vigil?: VigilApi | LoaderStub;
  }
}
