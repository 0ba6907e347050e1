/**
 * Every shape the beacon sends or is configured with, in one place.
 * The wire format is docs/protocol.md, version 1; collector/schema.py validates it.
 */

/** How an error reached the beacon (docs/protocol.md, event "error", field `mechanism`). */
export type Mechanism = 'onerror' | 'onunhandledrejection' | 'manual';

/** Event `"type": "error"`: an uncaught error, an unhandled rejection or a reported one. */
export interface ErrorEvent {
  type: 'error';
  event_id: string;
  ts: number;
  page_url: string;
  error_type: string;
  message: string;
  stack?: string;
  file?: string;
  line?: number;
  column?: number;
  mechanism: Mechanism;
}

/** Any event a batch can carry, tagged by `type`. New event kinds join this union. */
export type BeaconEvent = ErrorEvent;

/** What every batch of one page load shares (the batch fields other than id, time, events). */
export interface BatchContext {
  release?: string;
  environment?: string;
  session_id?: string;
  sdk: string;
}

/** One request body: shared context plus 1–100 events. */
export interface Batch extends BatchContext {
  v: 1;
  batch_id: string;
  sent_at: number;
  events: BeaconEvent[];
}

/** What the embedding `<script>` tag says (see lib/config.ts). */
export interface Config {
  /** Collector base URL without a trailing slash, e.g. `https://vigil.example`. */
  base: string;
  project: string;
  key: string;
  release?: string;
  environment?: string;
}

/** Sends one serialized batch; never throws, and failures are swallowed. */
export type Send = (body: string) => void;

/** The beacon's running state that capture sources and the API report into. */
export interface Client {
  capture(event: BeaconEvent): void;
  flush(): void;
}

/** `window.vigil`: the page's handle on the beacon. */
export interface VigilApi {
  version: string;
  /** Reports an error the page caught itself; returns its event id. */
  captureError(error: unknown): string | undefined;
  /** Sends every queued event now. */
  flush(): void;
}

declare global {
  interface Window {
    vigil?: VigilApi;
  }
}
